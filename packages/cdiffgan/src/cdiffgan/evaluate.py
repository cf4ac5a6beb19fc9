"""Evaluation: metrics per speaker (own style: "same"; style transfer: "style"), and the continual tables.

Evaluation uses non-overlapping 64-frame windows (hop 0) of the split. The original's final ``sample()`` fed each
whole interval as one sequence; windows keep the U-Net's multiple-of-32 constraint without padding (deviation).
"""

from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import metrics as M
from .data.pats import PatsData

TABLE_METRICS = ("pck", "FID", "L1", "F1", "W1_vel", "W1_acc")


@lru_cache(maxsize=16)
def _data(data_dir, speakers: tuple, split, time, fps):
    return PatsData(data_dir, list(speakers), split, 0, time, fps)


@torch.no_grad()
def predict(G, pre, cfg, speakers, split, device, style_ids=None, shift=0, max_windows=None):
    """Predictions for every hop-0 window of each speaker. Returns {speaker: dict(pred_z, gt_z, items)}.
    shift != 0: style transfer, style id = (own id + shift) mod n, compared with the speaker's own GT."""
    data = _data(str(cfg.data_dir), tuple(speakers), split, cfg.time, cfg.fps)
    style_ids = list(range(len(speakers))) if style_ids is None else list(style_ids)
    was_training = G.training
    G.eval()
    out = {}
    cap = cfg.eval_windows if max_windows is None else max_windows
    for si, spk in enumerate(speakers):
        lo, hi = data.ranges[spk]
        idx = list(range(lo, hi))[: cap or None]
        preds, gts, labels, items = [], [], [], []
        sid = style_ids[(si + shift) % len(style_ids)]
        for b in range(0, len(idx), 64):
            its = [data.item(i) for i in idx[b:b + 64]]
            batch = pre.make_batch(its, [sid] * len(its), device)
            preds.append(G.sample(batch).float().cpu().numpy())
            gts.append(batch["pose"].cpu().numpy())
            labels.append(batch["labels"].cpu().numpy())
            items += [(it["interval_id"], it["start"]) for it in its]
        if preds:
            out[spk] = {"pred_z": np.concatenate(preds), "gt_z": np.concatenate(gts),
                        "labels_gt": np.concatenate(labels), "items": items}
    G.train(was_training)
    return out


def metrics_of(pre, pred_z, gt_z, labels_gt, K):
    pred_raw, gt_raw = pre.denorm_pose96(pred_z), pre.denorm_pose96(gt_z)
    mean = pre.pose_mean[pre.idx]
    return M.all_metrics(pred_z, gt_z, pred_raw, gt_raw, mean, pre.labels(pred_raw), labels_gt, K)


def evaluate_model(G, pre, cfg, speakers, split, device, style_ids=None, kinds=("same",), max_windows=None):
    """{speaker: metrics, "_overall": metrics over all windows}; with "style" in kinds also "<speaker>/style"."""
    res = {}
    for kind in kinds:
        preds = predict(G, pre, cfg, speakers, split, device, style_ids, shift=1 if kind == "style" else 0,
                        max_windows=max_windows)
        suffix = "" if kind == "same" else "/style"
        for spk, p in preds.items():
            res[spk + suffix] = metrics_of(pre, p["pred_z"], p["gt_z"], p["labels_gt"], cfg.num_clusters)
        if kind == "same" and preds:
            cat = {k: np.concatenate([p[k] for p in preds.values()]) for k in ("pred_z", "gt_z", "labels_gt")}
            res["_overall"] = metrics_of(pre, cat["pred_z"], cat["gt_z"], cat["labels_gt"], cfg.num_clusters)
    return res


# ---------------------------------------------------------------- continual tables
def load_run_tables(run: Path) -> tuple[list[str], dict[str, dict[int, dict[str, float]]]]:
    """From <run>/step*/test_metrics.json: speakers in order and tables[metric][step][speaker]."""
    run = Path(run)
    files = sorted(run.glob("step*_*/test_metrics.json"))
    if not files:
        from motionkit.errors import DatasetMissingError
        raise DatasetMissingError(f"{run}: no step*/test_metrics.json (is this a continual run folder?)")
    speakers, tables = [], {}
    for f in files:
        step = int(f.parent.name[4:].split("_")[0])
        res = json.loads(f.read_text())
        for spk, vals in res.items():
            if spk.startswith("_") or "/" in spk:
                continue
            if spk not in speakers:
                speakers.append(spk)
            for m, v in vals.items():
                tables.setdefault(m, {}).setdefault(step, {})[spk] = v
    return speakers, tables


def summarise(run, metrics=TABLE_METRICS, out_dir=None, print_fn=print) -> dict:
    """Print the step x speaker tables (+ average over seen speakers, forgetting), write CSV and a plot."""
    run = Path(run)
    out_dir = Path(out_dir or run)
    speakers, tables = load_run_tables(run)
    summary = {}
    rows = []
    for m in metrics:
        if m not in tables:
            continue
        t = tables[m]
        avg = M.average_seen(t)
        fg = M.forgetting(t, m)
        summary[m] = {"average_seen": avg, "forgetting": fg}
        print_fn(f"\n{m}  ({'higher' if m in M.HIGHER_IS_BETTER else 'lower'} is better)")
        head = f"{'step':<6}" + "".join(f"{s[:12]:>13}" for s in speakers) + f"{'avg seen':>13}"
        print_fn(head)
        for step in sorted(t):
            cells = "".join(f"{t[step][s]:>13.4f}" if s in t[step] else f"{'':>13}" for s in speakers)
            print_fn(f"t{step:<5}" + cells + f"{avg[step]:>13.4f}")
            rows.append([m, step] + [t[step].get(s, "") for s in speakers] + [avg[step]])
        print_fn(f"forgetting ({m}): {fg:.4f}")
        rows.append([m, "forgetting", fg])
    with open(out_dir / "continual_table.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["metric", "step", *speakers, "avg_seen"])
        w.writerows(rows)
    (out_dir / "continual_summary.json").write_text(json.dumps(summary, indent=1))
    plot_tables(tables, speakers, out_dir / "continual_plot.png", [m for m in ("pck", "FID") if m in tables])
    print_fn(f"\nwrote {out_dir / 'continual_table.csv'} and {out_dir / 'continual_plot.png'}")
    return summary


def plot_tables(tables, speakers, path, metrics):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        t = tables[m]
        steps = sorted(t)
        for s in speakers:
            xs = [st for st in steps if s in t[st]]
            ax.plot(xs, [t[st][s] for st in xs], "o-", label=s)
        avg = M.average_seen(t)
        ax.plot(steps, [avg[s] for s in steps], "k--", lw=2, label="avg seen")
        ax.set_xlabel("continual step")
        ax.set_title(f"test {m}")
        ax.set_xticks(steps)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
