"""The test-set metrics (paper notes section 4), used by validation during training and by the report.

APD, ADE, FDE, MMADE, MMFDE are DLow's definitions, computed by ``motionkit.metrics`` (float64, root-relative
node positions in metres, pose vectors of D = 3n values) over chunks of windows; FID / ACC come from a GRU action
classifier (``motionkit.metrics.frechet_distance``). Low level: no files, no rendering.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from diverse_sampling.config import Config
from diverse_sampling.data.dataset import EvalWindows
from diverse_sampling.models import CVAE, ActionClassifier, DiverseSampler, sample_futures
from motionkit.metrics import ade_fde_batch, apd_batch, frechet_distance, mm_ade_fde_batch

METRICS = ("APD", "ADE", "FDE", "MMADE", "MMFDE")


def window_metrics(pred: torch.Tensor, gt: torch.Tensor, gts: np.ndarray, mask: np.ndarray,
                   mm_chunk: int = 8) -> dict[str, np.ndarray]:
    """The five metrics per window: pred (c, K, t_pred, D), gt (c, t_pred, D), multimodal GT gts (c, G, t_pred, D)
    padded, mask (c, G) True for real members -> {name: (c,)}. MMADE/MMFDE go ``mm_chunk`` windows at a time
    (the (c, G, K, T) error tensor is the memory peak)."""
    values = {"APD": apd_batch(pred)}
    values["ADE"], values["FDE"] = ade_fde_batch(pred, gt)
    pieces = [mm_ade_fde_batch(pred[r : r + mm_chunk], gts[r : r + mm_chunk], mask[r : r + mm_chunk])
              for r in range(0, len(pred), mm_chunk)]
    values["MMADE"] = np.concatenate([p[0] for p in pieces])
    values["MMFDE"] = np.concatenate([p[1] for p in pieces])
    return values


def _groups(test: EvalWindows, idx: np.ndarray, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded multimodal GT futures (c, G, t_pred, D), their mask (c, G), and which windows have neighbours (c,)."""
    groups = [test.group_futures(i, cfg.t_his, cfg.mm_retarget) for i in idx]
    G = max(len(g) for g in groups)
    gts = np.zeros((len(idx), G, *groups[0].shape[1:]), dtype=np.float32)
    mask = np.zeros((len(idx), G), dtype=bool)
    for r, g in enumerate(groups):
        gts[r, : len(g)], mask[r, : len(g)] = g, True
    return gts, mask, np.array([len(g) > 1 for g in groups])


@torch.no_grad()
def evaluate_model(cfg: Config, cvae: CVAE, sampler: DiverseSampler | None, test: EvalWindows, device,
                   classifier: ActionClassifier | None = None, chunk: int = 32, return_first: bool = False,
                   details: dict | None = None, progress: bool = True):
    """All metrics over the test set, K = ``cfg.nk`` futures per window; a progress bar counts windows.

    Sampling uses a forked RNG seeded by ``cfg.seed`` (comparable runs). A window without multimodal neighbours
    counts normally, or with ``legacy_skip_lonely_windows`` (the original) adds 0 to every metric but still counts
    in the denominator; FID/ACC skip such windows only with ``fid_acc_skip_lonely``. ``details``, if given,
    receives the per-window values (N,) of the five metrics and the ``kept`` mask.
    """
    was_training = [m.training for m in (cvae, sampler) if m is not None]
    for m in (cvae, sampler):
        if m is not None:
            m.eval()
    N, h = len(test), cfg.t_his
    sums = dict.fromkeys(METRICS, 0.0)
    feats_pred, feats_gt, correct = [], [], 0.0
    first = None
    bar = tqdm(total=N, desc=f"evaluate {cfg.exp_name}", unit="window", disable=not progress, dynamic_ncols=True,
               leave=False)
    with torch.random.fork_rng(devices=[device] if torch.device(device).type == "cuda" else []):
        torch.manual_seed(cfg.seed)
        for s in range(0, N, chunk):
            idx = np.arange(s, min(s + chunk, N))
            win = torch.from_numpy(test.windows[idx]).to(device)
            pred = sample_futures(cvae, sampler, win[:, :h], cfg.nk, cfg.share_eps_eval).float()  # (c, K, T, D)
            if first is None:
                first = pred[0].cpu().numpy()
            gt = win[:, h:]
            gts, mask, has_neighbours = _groups(test, idx, cfg)
            keep = has_neighbours if cfg.legacy_skip_lonely_windows else np.ones(len(idx), dtype=bool)
            for k, v in window_metrics(pred, gt, gts, mask).items():
                sums[k] += float(v[keep].sum())
                if details is not None:
                    details.setdefault(k, []).append(v)
            if details is not None:
                details.setdefault("kept", []).append(keep)
            if classifier is not None:
                keep_cls = has_neighbours if cfg.fid_acc_skip_lonely else np.ones(len(idx), dtype=bool)
                correct += _classify(classifier, pred, gt, test.labels[idx], keep_cls, feats_pred, feats_gt)
            bar.update(len(idx))
    bar.close()
    out = {k: v / N for k, v in sums.items()}
    if details is not None:
        for k in list(details):
            details[k] = np.concatenate(details[k])
    if classifier is not None:
        out["FID"] = frechet_distance(np.concatenate(feats_gt), np.concatenate(feats_pred))
        out["ACC"] = correct / N
    for m, t in zip([m for m in (cvae, sampler) if m is not None], was_training):
        m.train(t)
    return (out, first) if return_first else out


def _classify(classifier: ActionClassifier, pred: torch.Tensor, gt: torch.Tensor, labels: np.ndarray,
              keep: np.ndarray, feats_pred: list, feats_gt: list) -> float:
    """Adds the FID features of the kept windows' futures (K each) and GT to the lists; returns their summed
    per-window accuracy (share of the K futures classified as the window's action)."""
    c, K, T, D = pred.shape
    fp = classifier.features(pred.reshape(c * K, T, D))
    logits = classifier.cls(fp).reshape(c, K, -1)
    hit = (logits.argmax(-1).cpu().numpy() == labels[:, None]).mean(1)
    rows = torch.from_numpy(keep).to(fp.device)
    feats_pred.append(fp.reshape(c, K, -1)[rows].reshape(-1, fp.shape[-1]).cpu().numpy())
    feats_gt.append(classifier.features(gt)[rows].cpu().numpy())
    return float(hit[keep].sum())
