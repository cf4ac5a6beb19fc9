"""Training of the GRU action classifier used by FID / ACC (the original released weights only).

Trained on the ground-truth futures (t_pred frames) of random training windows, labelled by the take's action;
its test accuracy on ground-truth test futures is printed (the ceiling for ACC).
"""

from __future__ import annotations

import numpy as np
import torch

from diverse_sampling.config import Config
from diverse_sampling.data.dataset import TrainWindows, build_test_set, load_split
from diverse_sampling.data.layout import get_layout
from diverse_sampling.models import ActionClassifier
from motionkit.training import Checkpointer, RunLogger, check_finite, seed_everything


@torch.no_grad()
def gt_accuracy(clf: ActionClassifier, futures: np.ndarray, labels: np.ndarray, device, chunk: int = 512) -> float:
    clf.eval()
    hits = 0
    for s in range(0, len(futures), chunk):
        logits = clf(torch.from_numpy(futures[s : s + chunk]).to(device))
        hits += int((logits.argmax(-1).cpu().numpy() == labels[s : s + chunk]).sum())
    return hits / max(len(futures), 1)


def train_classifier(cfg: Config, device) -> dict:
    layout = get_layout(cfg.dataset)
    run_dir = cfg.resolved_classifier_checkpoint().parent
    log = RunLogger(run_dir)
    seed_everything(cfg.seed)
    data = load_split(cfg, "train")
    test = build_test_set(cfg)
    clf = ActionClassifier(layout.n_nodes * 3, len(layout.labels), cfg.cls_hidden, cfg.cls_layers, cfg.cls_feat,
                           random_h0=False).to(device)
    opt = torch.optim.Adam(clf.parameters(), lr=cfg.cls_lr)
    ckpt = Checkpointer(run_dir)
    start, _ = ckpt.resume({"classifier": clf, "optimizer": opt}, map_location=device)
    train_cfg = Config(**{**cfg.__dict__, "windows_per_epoch": cfg.cls_windows_per_epoch, "seed": cfg.seed + 7})
    dataset = TrainWindows(data, train_cfg)
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.cls_batch, shuffle=False, drop_last=True)
    test_fut = test.windows[:, cfg.t_his :]
    acc = 0.0
    for epoch in range(start, cfg.cls_epochs):
        dataset.set_epoch(epoch)
        torch.manual_seed(cfg.seed + epoch)
        clf.train()
        total, n = 0.0, 0
        for window, label in loader:
            keep = label >= 0
            logits = clf(window[keep, cfg.t_his :].to(device))
            loss = torch.nn.functional.cross_entropy(logits, label[keep].to(device))
            check_finite({"ce": loss}, epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        acc = gt_accuracy(clf, test_fut, test.labels, device)
        log.log(epoch + 1, ce=total / max(n, 1), test_gt_acc=acc)
        log.info(f"classifier epoch {epoch + 1}: ce {total / max(n, 1):.4f}, test GT accuracy {acc:.3f}")
        ckpt.save(epoch + 1, {"classifier": clf, "optimizer": opt},
                  extra={"cls_hidden": cfg.cls_hidden, "cls_layers": cfg.cls_layers, "cls_feat": cfg.cls_feat,
                         "test_gt_acc": acc})
    log.close()
    return {"test_gt_acc": acc}
