"""The report of a continual run: step x speaker tables of the test metrics (+ average over seen speakers,
forgetting), CSV and plot. The metrics themselves are computed by :func:`cdiffgan.metrics.evaluate_model`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from . import metrics as M

TABLE_METRICS = ("pck", "FID", "L1", "F1", "W1_vel", "W1_acc")


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
        res = _read_json(f)
        for spk, vals in res.items():
            if spk.startswith("_") or "/" in spk:
                continue
            if spk not in speakers:
                speakers.append(spk)
            for m, v in vals.items():
                tables.setdefault(m, {}).setdefault(step, {})[spk] = v
    return speakers, tables


def _read_json(path: Path) -> dict:
    """A step's test_metrics.json: {speaker: {metric: value}}; damaged or foreign is one line naming it."""
    from motionkit.errors import DataFormatError
    try:
        res = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{path}: not a UTF-8 JSON file ({type(e).__name__}: damaged, or not "
                              "written by cdiffgan)") from None
    if not isinstance(res, dict) or not all(isinstance(v, dict) for v in res.values()):
        raise DataFormatError(f"{path}: expected {{speaker: {{metric: value}}}}")
    return res


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
