"""Reports on inferred poses (apo_tf.md §4): Procrustes errors per frame and per sequence, PA-MPJPE, MPJPE.

Per example (sequence) and frame, in mm (x1000 of the scaled metres):

- ``proc_error``: the original's per-frame similarity alignment of the prediction to the ground truth, with
  reflections ALLOWED (scipy.spatial.procrustes semantics), per-joint distance (T, J);
- ``pa_mpjpe``: the standard protocol-2 alignment, reflections forbidden;
- ``sequence_proc_error``: one similarity transform for the whole sequence (all T*J points), reflections allowed;
- ``mpjpe``: root-relative (joint 0 subtracted from both), no alignment.

Summaries per category and Total, both frame-weighted (the original's ``ReportManager``: mean over all frames and
joints) and as the mean of the category means.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from apo_tf.config import InferenceConfig
from apo_tf.data import eva, h3m, registry
from apo_tf.infer import RESULTS, find_inference_run, load_results
from apo_tf.runs import data_root, locked
from motionkit.errors import DataFormatError
from motionkit.metrics import procrustes_align

METRICS = ("proc_error", "pa_mpjpe", "sequence_proc_error", "mpjpe")


def per_joint_errors(pred: np.ndarray, gt: np.ndarray, space_scale: float = 1000.0) -> dict[str, np.ndarray]:
    """Every metric's per-joint error (T, J) in mm for one sequence; pred, gt (T, J, 3) in metres."""
    err = lambda a: np.linalg.norm(a - gt, axis=-1) * space_scale  # noqa: E731
    T, J, _ = gt.shape
    seq = procrustes_align(pred.reshape(1, T * J, 3), gt.reshape(1, T * J, 3), reflection=True).reshape(T, J, 3)
    return {
        "proc_error": err(procrustes_align(pred, gt, reflection=True)),
        "pa_mpjpe": err(procrustes_align(pred, gt, reflection=False)),
        "sequence_proc_error": err(seq),
        "mpjpe": np.linalg.norm((pred - pred[:, :1]) - (gt - gt[:, :1]), axis=-1) * space_scale,
    }


def summarize(errors: dict[str, dict[str, np.ndarray]], categories: dict[str, str],
              order: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    """{key: {metric: (T, J)}} -> {category | "Total (frames)" | "Total (categories)": {metric: mean mm}}."""
    cats = sorted(set(categories.values()), key=lambda c: (order.index(c) if c in order else len(order), c))
    table: dict[str, dict[str, float]] = {}
    for cat in cats:
        keys = [k for k in errors if categories[k] == cat]
        table[cat] = {m: float(np.concatenate([errors[k][m].ravel() for k in keys]).mean()) for m in METRICS}
    table["Total (frames)"] = {m: float(np.concatenate([e[m].ravel() for e in errors.values()]).mean())
                               for m in METRICS}
    table["Total (categories)"] = {m: float(np.mean([table[c][m] for c in cats])) for m in METRICS}
    return table


def format_table(table: dict[str, dict[str, float]], title: str) -> str:
    head = f"{'category':<20}" + "".join(f"{m:>21}" for m in METRICS)
    lines = [title, head, "-" * len(head)]
    for cat, row in table.items():
        lines.append(f"{cat:<20}" + "".join(f"{row[m]:>21.2f}" for m in METRICS))
    return "\n".join(lines)


def report(cfg: InferenceConfig, root: Path, run: str = "", verbose: bool = True) -> dict:
    """Compute, store (``proc_error``, ``sequence_proc_error`` datasets, as the original's reports did) and print
    the tables for one inference run; also writes ``<run>/report.json``."""
    run_dir = find_inference_run(cfg, root, run)
    with locked(run_dir):
        return _report(cfg, run_dir, data_root(cfg, root), verbose)


def _report(cfg: InferenceConfig, run_dir: Path, data_dir: str, verbose: bool) -> dict:
    path = run_dir / RESULTS
    preds = load_results(path, cfg.inference_id)
    gts = {s.key: s for s in registry.load(cfg.dataset, "eval", data_dir, cfg.eva_split) if s.key in preds}
    missing = sorted(set(preds) - set(gts))
    if missing:
        raise DataFormatError(f"{path}: {len(missing)} results have no ground truth in {cfg.dataset} "
                              f"(e.g. {missing[0]})")
    errors = {}
    for key, seq in gts.items():
        if preds[key].shape != seq.p3w.shape:
            raise DataFormatError(f"{path}: {cfg.inference_id}/{key}/p3w has shape {preds[key].shape}, "
                                  f"ground truth {seq.p3w.shape}")
        errors[key] = per_joint_errors(preds[key].astype(np.float64), seq.p3w.astype(np.float64))
    with h5py.File(path, "a") as f:
        for key, e in errors.items():
            g = f[cfg.inference_id][key]
            for name in ("proc_error", "sequence_proc_error"):
                if name in g:
                    del g[name]
                g.create_dataset(name, data=e[name].astype(np.float32))
    is_eva = registry.parse_id(cfg.dataset).source == "eva"
    order = eva.ACTIONS if is_eva else h3m.CATEGORY_ORDER
    table = summarize(errors, {k: s.category for k, s in gts.items()}, order)
    if verbose:
        print(format_table(table, f"{cfg.inference_id}: errors in mm over {len(errors)} sequences, "
                                  f"{sum(len(s.p3w) for s in gts.values())} frames"))
    (run_dir / "report.json").write_text(json.dumps(table, indent=1))
    return table


def mean_pose_baseline(cfg: InferenceConfig, gan_dataset: str, root: Path) -> dict[str, float]:
    """Sanity baseline (apo_tf.md §8.1): predict the training-mean normalised pose for every frame."""
    from apo_tf.data import normalize

    data_dir = data_root(cfg, root)
    train = registry.load(gan_dataset, "train", data_dir, cfg.eva_split)
    mean = normalize.training_poses(train).mean(0).astype(np.float64)
    seqs = registry.load(cfg.dataset, "eval", data_dir, cfg.eva_split)
    if cfg.max_sequences:
        seqs = seqs[:cfg.max_sequences]
    if seqs[0].skeleton != train[0].skeleton:
        mean = registry.s24_to_s14(mean)
    errors = {s.key: per_joint_errors(np.broadcast_to(mean, s.p3w.shape), s.p3w.astype(np.float64)) for s in seqs}
    return summarize(errors, {s.key: s.category for s in seqs})["Total (frames)"]
