"""Metrics of the original ``evaluation/metrics.py``, re-derived from their definitions (numpy).

Inputs: z-normalised masked poses (N, T, 96) for L1 / VelL1 / FID; un-normalised masked poses (N, T, 96) laid out
[x_0..x_47, y_0..y_47] with the root at (0, 0) for the rest. The masked joints (root, nose, eyes) never count.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.stats import wasserstein_distance

HIGHER_IS_BETTER = {"pck", "pck_0.1", "pck_0.2", "F1", "acc", "precision", "recall"}


def joints(p: np.ndarray) -> np.ndarray:
    """(..., 2J) [x..., y...] -> (..., J, 2)."""
    J = p.shape[-1] // 2
    return np.stack([p[..., :J], p[..., J:]], -1)


def l1(pred, gt) -> float:
    """L1 = mean |y_hat - y| (z-normalised space)."""
    return float(np.abs(pred - gt).mean())


def vel_l1(pred, gt) -> float:
    """VelL1 = mean |diff_t(y_hat) - diff_t(y)| (z-normalised space)."""
    return float(np.abs(np.diff(pred, axis=-2) - np.diff(gt, axis=-2)).mean())


def fid(pred, gt) -> float:
    """FID: Frechet distance between Gaussians fitted (float64, unbiased covariance) to the per-frame z-normalised
    pose vectors; sqrtm retried with 1e-6 added to the diagonals; 1000 when it still fails."""
    a = pred.reshape(-1, pred.shape[-1]).astype(np.float64)
    b = gt.reshape(-1, gt.shape[-1]).astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    try:
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            off = np.eye(len(s1)) * 1e-6
            covmean = linalg.sqrtm((s1 + off) @ (s2 + off))
        covmean = covmean.real
        val = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
        return val if np.isfinite(val) else 1000.0
    except (ValueError, linalg.LinAlgError):
        return 1000.0


def pck(pred, gt, alpha: float) -> float:
    """PCK@alpha: per frame the threshold is alpha * max(range of x, range of y) of the GT skeleton; a joint is
    correct when its Euclidean error is below it; mean over joints and frames."""
    P, G = joints(pred), joints(gt)
    rng = (G.max(-2) - G.min(-2)).max(-1)                      # (..., ) per frame
    err = np.linalg.norm(P - G, axis=-1)                       # (..., J)
    return float((err < alpha * rng[..., None]).mean())


def _speeds(p, order: int) -> np.ndarray:
    d = joints(p)
    for _ in range(order):
        d = np.diff(d, axis=-3)
    return np.linalg.norm(d, axis=-1).mean(-1).reshape(-1)     # per (window, frame), mean over joints


def w1(pred, gt, order: int) -> float:
    """W1_vel (order 1) / W1_acc (order 2): Wasserstein-1 distance between the histograms (bins 0:0.1:300, values
    clipped into the range) of the per-frame mean-over-joints speed |d p| (resp. |d^2 p|) of prediction and GT."""
    edges = np.arange(0, 300.0 + 1e-9, 0.1)
    centres = (edges[:-1] + edges[1:]) / 2
    hp = np.histogram(np.clip(_speeds(pred, order), 0, 299.99), edges)[0].astype(np.float64)
    hg = np.histogram(np.clip(_speeds(gt, order), 0, 299.99), edges)[0].astype(np.float64)
    if hp.sum() == 0 or hg.sum() == 0:
        return 0.0
    return float(wasserstein_distance(centres, centres, hp, hg))


def diversity(p, mean_pose) -> float:
    """diversity = mean |pose - dataset mean pose| (the mean from the ZNorm statistics)."""
    return float(np.abs(p - mean_pose).mean())


def _d(p, ref) -> np.ndarray:
    return np.linalg.norm(joints(p) - joints(ref), axis=-1).mean(-1).reshape(-1)


def _rmse(x) -> float:
    return float(np.sqrt((x ** 2).mean()))


def expressiveness(pred, gt, mean_pose) -> dict[str, float]:
    """d(p) = mean over joints of ||p_j - mean_j|| per frame; spatial = RMSE_frames(d(y_hat) - d(y));
    spatialNorm = spatial / RMSE(d(mean) - d(y)); energy / power: the same on velocities / accelerations with
    mean 0 (and their normalised versions). Computed fresh per call (the original never reset its meter)."""
    out = {}
    for name, order in (("spatial", 0), ("energy", 1), ("power", 2)):
        a, b, m = pred, gt, mean_pose
        for _ in range(order):
            a, b = np.diff(a, axis=-2), np.diff(b, axis=-2)
        if order:
            m = np.zeros(a.shape[-1])
        da, db = _d(a, m), _d(b, m)
        out[name] = _rmse(da - db)
        denom = _rmse(db)
        out[name + "Norm"] = out[name] / denom if denom > 0 else 0.0
    return out


def cluster_scores(labels_pred, labels_gt, K: int) -> dict[str, float]:
    """F1 (support-weighted), acc, precision/recall (mean over classes present) of k-means frame labels."""
    from sklearn.metrics import f1_score, precision_score, recall_score
    lp, lg = np.asarray(labels_pred).reshape(-1), np.asarray(labels_gt).reshape(-1)
    labels = list(range(K))
    kw = {"labels": labels, "zero_division": 0}
    present = sorted(set(lg.tolist()) | set(lp.tolist()))
    return {"F1": float(f1_score(lg, lp, average="weighted", **kw)), "acc": float((lp == lg).mean()),
            "precision": float(precision_score(lg, lp, average="macro", labels=present, zero_division=0)),
            "recall": float(recall_score(lg, lp, average="macro", labels=present, zero_division=0))}


def all_metrics(pred_z, gt_z, pred_raw, gt_raw, mean_pose, labels_pred, labels_gt, K) -> dict[str, float]:
    """Every metric of one set of windows. *_z z-normalised, *_raw un-normalised (root at 0), (N, T, 96)."""
    out = {"L1": l1(pred_z, gt_z), "VelL1": vel_l1(pred_z, gt_z), "FID": fid(pred_z, gt_z),
           "pck_0.1": pck(pred_raw, gt_raw, 0.1), "pck_0.2": pck(pred_raw, gt_raw, 0.2),
           "W1_vel": w1(pred_raw, gt_raw, 1), "W1_acc": w1(pred_raw, gt_raw, 2),
           "diversity": diversity(pred_raw, mean_pose), "diversity_gt": diversity(gt_raw, mean_pose)}
    out["pck"] = (out["pck_0.1"] + out["pck_0.2"]) / 2
    out.update(expressiveness(pred_raw, gt_raw, mean_pose))
    out.update(cluster_scores(labels_pred, labels_gt, K))
    return out


# ---- continual-learning summaries ----
def average_seen(table: dict[int, dict[str, float]]) -> dict[int, float]:
    """table[step][speaker] = value -> mean over the speakers evaluated (= seen so far) after each step."""
    return {s: float(np.mean(list(v.values()))) for s, v in sorted(table.items())}


def forgetting(table: dict[int, dict[str, float]], metric: str) -> float:
    """Forgetting: for each old speaker (seen before the final step), best earlier value minus final value
    (sign flipped for lower-is-better metrics, so positive = forgot), averaged. 0 for a run that never changes."""
    steps = sorted(table)
    if len(steps) < 2:
        return 0.0
    final = table[steps[-1]]
    higher = metric in HIGHER_IS_BETTER
    vals = []
    for spk in final:
        earlier = [table[s][spk] for s in steps[:-1] if spk in table[s]]
        if not earlier:
            continue
        best = max(earlier) if higher else min(earlier)
        vals.append(best - final[spk] if higher else final[spk] - best)
    return float(np.mean(vals)) if vals else 0.0
