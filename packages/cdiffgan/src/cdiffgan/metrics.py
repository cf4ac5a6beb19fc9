"""Metrics of the original ``evaluation/metrics.py``, re-derived from their definitions (numpy), and the
evaluation of a generator on a split (:func:`evaluate_model`, used by validation during training and the report).

Evaluation uses non-overlapping 64-frame windows (hop 0) of the split. The original's final ``sample()`` fed each
whole interval as one sequence; windows keep the U-Net's multiple-of-32 constraint without padding (deviation).

Inputs: z-normalised masked poses (N, T, 96) for L1 / VelL1 / FID; un-normalised masked poses (N, T, 96) laid out
[x_0..x_47, y_0..y_47] with the root at (0, 0) for the rest. The masked joints (root, nose, eyes) never count.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from scipy.stats import wasserstein_distance
from tqdm.auto import tqdm

from motionkit.metrics import frechet_distance

from .data.pats import PatsData

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
    pose vectors (motionkit.metrics.frechet_distance); 1000 when it fails, as the original returned."""
    try:
        return frechet_distance(pred.reshape(-1, pred.shape[-1]), gt.reshape(-1, gt.shape[-1]))
    except ValueError:
        return 1000.0


def skeleton_extent(pose104: np.ndarray) -> np.ndarray:
    """The original's PCK scale per frame: max(range of x, range of y) over all 52 joints of a PATS pose
    (..., 104) [x_0..x_51, y_0..y_51] with the root (joint 0) set to (0, 0) and every other joint as stored
    (relative to the neck). Returns (...)."""
    J = pose104.shape[-1] // 2
    x, y = pose104[..., :J].copy(), pose104[..., J:].copy()
    x[..., 0] = 0.0
    y[..., 0] = 0.0
    return np.maximum(x.max(-1) - x.min(-1), y.max(-1) - y.min(-1))


def pck(pred, gt, alpha: float, extent=None, per_joint: bool = False):
    """PCK@alpha: a joint is correct when its Euclidean error is below alpha * the frame's scale; mean over
    joints and frames (per joint with per_joint=True). The scale is `extent` (..., ) when given (the original:
    :func:`skeleton_extent` over all 52 joints), else max(range of x, range of y) of the kept GT joints."""
    P, G = joints(pred), joints(gt)
    rng = (G.max(-2) - G.min(-2)).max(-1) if extent is None else np.asarray(extent)
    err = np.linalg.norm(P - G, axis=-1)                       # (..., J)
    hit = err < alpha * rng[..., None]
    if per_joint:
        return hit.reshape(-1, hit.shape[-1]).mean(0)
    return float(hit.mean())


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


def all_metrics(pred_z, gt_z, pred_raw, gt_raw, mean_pose, labels_pred, labels_gt, K, extent=None):
    """Every metric of one set of windows. *_z z-normalised, *_raw un-normalised (root at 0), (N, T, 96);
    extent (N, T): the PCK scale per frame (None: from the kept joints). ``pck_per_joint``: PCK (mean over
    alpha 0.1 and 0.2) of each kept joint, a list."""
    out = {"L1": l1(pred_z, gt_z), "VelL1": vel_l1(pred_z, gt_z), "FID": fid(pred_z, gt_z),
           "pck_0.1": pck(pred_raw, gt_raw, 0.1, extent), "pck_0.2": pck(pred_raw, gt_raw, 0.2, extent),
           "W1_vel": w1(pred_raw, gt_raw, 1), "W1_acc": w1(pred_raw, gt_raw, 2),
           "diversity": diversity(pred_raw, mean_pose), "diversity_gt": diversity(gt_raw, mean_pose)}
    out["pck"] = (out["pck_0.1"] + out["pck_0.2"]) / 2
    per_joint = (pck(pred_raw, gt_raw, 0.1, extent, True) + pck(pred_raw, gt_raw, 0.2, extent, True)) / 2
    out.update(expressiveness(pred_raw, gt_raw, mean_pose))
    out.update(cluster_scores(labels_pred, labels_gt, K))
    out["pck_per_joint"] = [float(v) for v in per_joint]
    return out


# ---- evaluation of a generator on a split ----
@lru_cache(maxsize=16)
def _data(data_dir, speakers: tuple, split, time, fps, vocab_size=None):
    return PatsData(data_dir, list(speakers), split, 0, time, fps, vocab_size)


@torch.no_grad()
def predict(G, pre, cfg, speakers, split, device, style_ids=None, shift=0, max_windows=None):
    """Predictions for every hop-0 window of each speaker. Returns {speaker: dict(pred_z, gt_z, items)}.
    shift != 0: style transfer, style id = (own id + shift) mod n, compared with the speaker's own GT."""
    data = _data(str(cfg.data_dir), tuple(speakers), split, cfg.time, cfg.fps, cfg.vocab_size)
    style_ids = list(range(len(speakers))) if style_ids is None else list(style_ids)
    was_training = G.training
    G.eval()
    out = {}
    cap = cfg.eval_windows if max_windows is None else max_windows
    for si, spk in enumerate(speakers):
        lo, hi = data.ranges[spk]
        idx = list(range(lo, hi))[: cap or None]
        preds, gts, labels, items, raw = [], [], [], [], []
        sid = style_ids[(si + shift) % len(style_ids)]
        bar = tqdm(range(0, len(idx), 64), desc=f"evaluate {split} {spk}", leave=False,
                   disable=not getattr(cfg, "progress", True))
        for b in bar:
            its = [data.item(i) for i in idx[b:b + 64]]
            batch = pre.make_batch(its, [sid] * len(its), device)
            preds.append(G.sample(batch).float().cpu().numpy())
            gts.append(batch["pose"].cpu().numpy())
            labels.append(batch["labels"].cpu().numpy())
            raw.append(np.stack([it["pose"] for it in its]))
            items += [(it["interval_id"], it["start"]) for it in its]
        if preds:
            out[spk] = {"pred_z": np.concatenate(preds), "gt_z": np.concatenate(gts),
                        "labels_gt": np.concatenate(labels), "gt104": np.concatenate(raw), "items": items}
    G.train(was_training)
    return out


def metrics_of(pre, pred_z, gt_z, labels_gt, K, gt104=None):
    """all_metrics of z-normalised predictions and GT (N, T, 96); gt104 (N, T, 104) raw GT poses give the
    original's PCK scale over all 52 joints (None: the kept joints' extent)."""
    pred_raw, gt_raw = pre.denorm_pose96(pred_z), pre.denorm_pose96(gt_z)
    mean = pre.pose_mean[pre.idx]
    extent = None if gt104 is None else skeleton_extent(gt104)
    return all_metrics(pred_z, gt_z, pred_raw, gt_raw, mean, pre.labels(pred_raw), labels_gt, K, extent)


def evaluate_model(G, pre, cfg, speakers, split, device, style_ids=None, kinds=("same",), max_windows=None):
    """{speaker: metrics, "_overall": metrics over all windows}; with "style" in kinds also "<speaker>/style"."""
    res = {}
    for kind in kinds:
        preds = predict(G, pre, cfg, speakers, split, device, style_ids, shift=1 if kind == "style" else 0,
                        max_windows=max_windows)
        suffix = "" if kind == "same" else "/style"
        for spk, p in preds.items():
            res[spk + suffix] = metrics_of(pre, p["pred_z"], p["gt_z"], p["labels_gt"], cfg.num_clusters,
                                           p["gt104"] if cfg.pck_joints == "all" else None)
        if kind == "same" and preds:
            cat = {k: np.concatenate([p[k] for p in preds.values()]) for k in ("pred_z", "gt_z", "labels_gt", "gt104")}
            res["_overall"] = metrics_of(pre, cat["pred_z"], cat["gt_z"], cat["labels_gt"], cfg.num_clusters,
                                         cat["gt104"] if cfg.pck_joints == "all" else None)
    return res


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
