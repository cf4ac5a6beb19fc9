"""Training of the GRU action classifier used by FID / ACC (the original released weights only).

Trained on the ground-truth futures (t_pred frames) of random training windows, labelled by the take's action;
its test accuracy on ground-truth test futures is printed (the ceiling for ACC).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from diverse_sampling import paths
from diverse_sampling.config import PACKAGE, Config
from diverse_sampling.data.dataset import TrainWindows, build_test_set, load_split
from diverse_sampling.divergence import check_losses, check_weights, diverged
from diverse_sampling.models import ActionClassifier, build_classifier
from motionkit.run import start_run


@torch.no_grad()
def gt_accuracy(clf: ActionClassifier, futures: np.ndarray, labels: np.ndarray, device, chunk: int = 512) -> float:
    clf.eval()
    hits = 0
    for s in range(0, len(futures), chunk):
        logits = clf(torch.from_numpy(futures[s : s + chunk]).to(device))
        hits += int((logits.argmax(-1).cpu().numpy() == labels[s : s + chunk]).sum())
    return hits / max(len(futures), 1)


def train_classifier(cfg: Config, resume: str | None = None) -> dict:
    """Train the classifier in a new run folder named after ``classifier_checkpoint`` (default
    ``<dataset>_classifier``); ``cls_epochs`` epochs of ``cls_windows_per_epoch`` windows, a progress bar per step.

    On resume, a changed ``cls_lr`` applies (logged) and a changed architecture is refused in one line."""
    from diverse_sampling.train import FIXED_ON_RESUME, resume_state

    name = cfg.run_name or paths.classifier_run_name(cfg)
    mutable = {f.name for f in dataclasses.fields(cfg)} - FIXED_ON_RESUME
    with start_run(cfg, package=PACKAGE, run_name=name, log_root=cfg.log_dir, resume=resume, device=cfg.device,
                   seed=cfg.seed, use_tensorboard=cfg.tensorboard, mutable_on_resume=mutable) as run:
        device, log = run.device, run.logger
        data = load_split(cfg, "train")
        test = build_test_set(cfg)
        clf = build_classifier(cfg)
        clf.random_h0 = False  # trained with a zero initial state; evaluation follows classifier_random_h0
        clf.to(device)
        opt = torch.optim.Adam(clf.parameters(), lr=cfg.cls_lr)
        start, _ = resume_state(run, {"classifier": clf, "optimizer": opt}, device)
        run.check_not_finished(start, cfg.cls_epochs, flag="--cls_epochs")
        for group in opt.param_groups:
            if group["lr"] != cfg.cls_lr:
                log.info(f"classifier learning rate applied on resume: {group['lr']} -> {cfg.cls_lr}")
                group["lr"] = cfg.cls_lr
        train_cfg = dataclasses.replace(cfg, windows_per_epoch=cfg.cls_windows_per_epoch, seed=cfg.seed + 7)
        dataset = TrainWindows(data, train_cfg)
        loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.cls_batch, shuffle=False, drop_last=True)
        test_fut = test.windows[:, cfg.t_his :]
        acc = 0.0
        bar = log.progress(cfg.cls_epochs * len(loader), desc=run.dir.name, initial=start * len(loader))
        try:  # the bar closes before an error is printed, so the error line is the last line
            for epoch in range(start, cfg.cls_epochs):
                dataset.set_epoch(epoch)
                torch.manual_seed(cfg.seed + epoch)
                with diverged(run.dir, epoch + 1, epoch):
                    total, n = _classifier_epoch(cfg, clf, opt, loader, device, bar)
                    check_weights(clf, opt)
                acc = gt_accuracy(clf, test_fut, test.labels, device)
                log.log(epoch + 1, ce=total / max(n, 1), test_gt_acc=acc)
                log.info(f"classifier epoch {epoch + 1}: ce {total / max(n, 1):.4f}, test GT accuracy {acc:.3f}")
                run.checkpointer.save(epoch + 1, {"classifier": clf, "optimizer": opt},
                                      extra={"cls_hidden": cfg.cls_hidden, "cls_layers": cfg.cls_layers,
                                             "cls_feat": cfg.cls_feat, "test_gt_acc": acc})
        finally:
            bar.close()
    return {"test_gt_acc": acc}


def _classifier_epoch(cfg: Config, clf: ActionClassifier, opt, loader, device, bar) -> tuple[float, int]:
    """One epoch of cross-entropy steps on (window (B, T, D), action label (B,)); returns (sum of losses, steps)."""
    clf.train()
    total, n = 0.0, 0
    for window, label in loader:
        keep = label >= 0
        if keep.any():
            logits = clf(window[keep, cfg.t_his :].to(device))
            loss = torch.nn.functional.cross_entropy(logits, label[keep].to(device))
            check_losses({"ce": float(loss.detach())})
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1
        bar.update(1)
    return total, n
