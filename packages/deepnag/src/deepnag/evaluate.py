"""Evaluation: render real vs synthetic samples, and measure them.

`--evaluate=CKPT` renders (PNG grid for pen gestures, animated GIF of Kinect skeletons; coordinates are
un-normalised for real and fake alike). With `--metrics` it also prints:

* a recogniser table (1-NN DTW, see recognizer.py), Jackknife's user-independent protocol:
  real->real (one subject's samples as templates, tested on every other subject, averaged over subjects: the
  yardstick), synthetic->real (templates drawn from the generator, as many per class as one subject has, tested
  on all real samples), real->synthetic (one subject's real templates, tested on generated samples), and
  real+synthetic->real (one subject's templates augmented with generated ones, tested on the other subjects);
* soft-DTW scores in the normalised space (soft-DTW divergence, gamma 0.1, same-class pairs only):
  realism = mean over fakes of the distance to the nearest real, divided by the same for reals
  (leave-one-out); coverage = mean over reals of the distance to the nearest fake, divided the same way;
  diversity = mean distance between two fakes of a class over the same for two reals. 1.0 means
  "like real data"; realism/coverage above 1 mean fakes sit farther from the data than reals do from each
  other, diversity below 1 means mode collapse.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from deepnag.compat import config_from_checkpoint
from deepnag.config import Config
from deepnag.data import MinMaxNormalizer, PreparedData, load_gesture_set, prepare
from deepnag.models import DeepNAGNet, load_generator
from deepnag.recognizer import NearestNeighbourDTW
from deepnag.render import generate, render_original_views, render_samples, show_on_screen
from motionkit.errors import CheckpointError, ConfigError
from motionkit.training import load_checkpoint

__all__ = ["compute_metrics", "evaluate", "export_generator", "generate", "load_generator", "render_samples"]

# --------------------------------------------------------------------------------------------- loading
# load_generator lives in deepnag.models (our files, the original's, `original:<name>`); re-exported here
# because other code calls deepnag.evaluate.load_generator.


def export_generator(src: str | Path, dst: str | Path, note: str = "") -> Path:
    """Strip a training checkpoint to what `--evaluate` needs: generator weights in float16 (loaded back as
    float32), the config, class list and normaliser. About 3 MB instead of 19 MB with the optimiser state."""
    from motionkit.training import save_checkpoint

    state = load_checkpoint(src)
    weights = {k: v.half() for k, v in state["modules"]["generator"].items()}
    config = dict(state["extra"]["config"], log_dir="runs", data_root=None, run_name=None, device=None)
    extra = dict(state["extra"], config=config, note=note)
    return save_checkpoint(dst, {"step": state["step"], "modules": {"generator": weights}, "extra": extra})


# --------------------------------------------------------------------------------------------- metrics


def recognizer_table(real: PreparedData, fake_fn, per_class: int | None = None, max_subjects: int | None = None,
                     seed: int = 0) -> dict[str, float]:
    """Accuracies of the 1-NN DTW recogniser under the four protocols of the module docstring.

    fake_fn(labels, seed) -> (N, T, F) synthetic samples in the same (normalised) space as real.x.
    per_class: synthetic templates per class (default: as many as one subject has per class).
    """
    x = real.x.numpy().astype(np.float64)
    y = real.labels.numpy()
    subjects = np.asarray(real.subjects)
    names = sorted(set(subjects))
    if max_subjects:
        names = names[:max_subjects]
    per_class = per_class or max(1, int(round((subjects == names[0]).sum() / real.n_classes)))
    rec = NearestNeighbourDTW()
    rr, sr, rs, aug = [], [], [], []
    from tqdm.auto import tqdm

    for k, s in enumerate(tqdm(names, desc="recogniser, template subjects", leave=False)):
        tmpl, test = subjects == s, subjects != s
        rec.fit(x[tmpl], y[tmpl])
        rr.append(rec.accuracy(x[test], y[test]))
        fake_labels = np.repeat(np.arange(real.n_classes), per_class)
        fakes = fake_fn(fake_labels, seed + k)
        rs.append(rec.accuracy(fakes, fake_labels))
        rec.fit(np.concatenate([x[tmpl], fakes]), np.concatenate([y[tmpl], fake_labels]))
        aug.append(rec.accuracy(x[test], y[test]))
        rec.fit(fakes, fake_labels)
        sr.append(rec.accuracy(x, y))
    return {"real->real": float(np.mean(rr)), "synthetic->real": float(np.mean(sr)),
            "real->synthetic": float(np.mean(rs)), "real+synthetic->real": float(np.mean(aug)),
            "templates_per_class": per_class, "subjects": len(names)}


def sdtw_scores(real: torch.Tensor, real_labels: torch.Tensor, fake: torch.Tensor, fake_labels: torch.Tensor,
                gamma: float = 0.1) -> dict[str, float]:
    """Realism, coverage and diversity ratios (module docstring) from soft-DTW divergences."""
    from motionkit.softdtw import pairwise_soft_dtw

    real, fake = real.double(), fake.double()

    def dist(a, la, b, lb):
        return pairwise_soft_dtw(a, b, gamma=gamma, normalize=True, mask=la[:, None] == lb[None, :])

    rr = dist(real, real_labels, real, real_labels)
    rr_loo = rr.clone()
    rr_loo.fill_diagonal_(float("inf"))
    ff = dist(fake, fake_labels, fake, fake_labels)
    fr = dist(fake, fake_labels, real, real_labels)
    real_nn = rr_loo.min(dim=1).values
    real_nn = real_nn[torch.isfinite(real_nn)].mean()

    def mean_offdiag(d):
        off = ~torch.eye(len(d), dtype=torch.bool) & torch.isfinite(d)
        return d[off].mean()

    return {
        "realism": float(fr.min(dim=1).values.mean() / real_nn),
        "coverage": float(fr.min(dim=0).values.mean() / real_nn),
        "diversity": float(mean_offdiag(ff) / mean_offdiag(rr)),
    }


def compute_metrics(G: DeepNAGNet, data: PreparedData, cfg: Config, max_subjects: int | None = None) -> dict:
    def fake_fn(labels, seed):
        return generate(G, labels, cfg.resample_n, seed)

    table = recognizer_table(data, fake_fn, max_subjects=max_subjects, seed=cfg.eval_seed)
    n = cfg.eval_samples_per_class
    fake_labels = np.repeat(np.arange(data.n_classes), n)
    fakes = torch.as_tensor(fake_fn(fake_labels, cfg.eval_seed + 10_000))
    scores = sdtw_scores(data.x, data.labels, fakes, torch.as_tensor(fake_labels), cfg.sdtw_gamma)
    return {**table, **scores}


def training_note(extra: dict, cfg: Config) -> str:
    """One line saying how long the evaluated generator was trained, against the paper's length."""
    from deepnag.config import DEFAULT_EPOCHS

    unit = "epochs" if cfg.model == "DeepNAG" else "generator steps"
    step, paper = extra.get("step"), DEFAULT_EPOCHS[cfg.model]
    if not step:
        return f"  (trained length not recorded; the paper's runs are {paper} {unit})"
    if step < paper:
        return (f"  note: this generator was trained {step} {unit}, the paper's runs {paper}: these numbers measure a "
                "short demo model, not the paper's result")
    return f"  trained {step} {unit} (the paper's length: {paper})"


def format_metrics(m: dict, title: str) -> str:
    rows = [
        ("real->real (yardstick, user-independent)", m["real->real"]),
        ("synthetic->real (train on synthetic, test on real)", m["synthetic->real"]),
        ("real->synthetic (train on real, test on synthetic)", m["real->synthetic"]),
        ("real+synthetic->real (augmented templates)", m["real+synthetic->real"]),
    ]
    lines = [title, f"  1-NN DTW recogniser, {m['subjects']} template subjects, "
                    f"{m['templates_per_class']} synthetic templates per class",
             f"  {'protocol':<52} accuracy"]
    lines += [f"  {name:<52} {100 * acc:6.1f} %" for name, acc in rows]
    lines.append("  soft-DTW scores (1.0 = like real data): "
                 f"realism {m['realism']:.3f}  coverage {m['coverage']:.3f}  diversity {m['diversity']:.3f}")
    return "\n".join(lines)


def _out_dir(cfg: Config, checkpoint, run_name: str | None) -> Path:
    """<log_dir>/deepnag/eval-<checkpoint's folder>-<stem> (or --run-name)."""
    text = str(checkpoint)
    if text.startswith("original:"):
        name = "original-" + text[len("original:"):].replace("/", "-")
    else:
        name = f"{Path(text).parent.name}-{Path(text).stem}"
    return Path(cfg.log_dir) / "deepnag" / (run_name or f"eval-{name}")


def evaluate(checkpoint: str | Path, overrides: dict, metrics: bool = False, max_subjects: int | None = None,
             show: bool = True) -> dict:
    """Load a checkpoint (ours, the original's, or `original:<name>`), render real vs synthetic samples (ours
    and the original's views) and optionally print the metrics table. With a display, the original's views are
    also shown in windows (show=False: files only)."""
    from motionkit.training.device import resolve_device

    device = resolve_device(overrides.get("device"))
    G, extra = load_generator(checkpoint, device, dataset=overrides.get("dataset"),
                              resample_n=overrides.get("resample_n"))
    model = extra["config"].get("model")
    if overrides.get("model") and model and overrides["model"] != model:
        raise CheckpointError(f"{checkpoint}: holds a {model} model, not {overrides['model']} (drop --model or "
                              f"pass --model={model})")
    cfg = config_from_checkpoint(extra["config"], overrides, checkpoint)
    data = prepare(load_gesture_set(cfg), cfg.resample_n, MinMaxNormalizer.from_state_dict(extra["normalizer"]))
    if data.class_names != list(extra["class_names"]):
        raise CheckpointError(f"{checkpoint}: trained on classes {extra['class_names'][:3]}..., the data set "
                              f"{cfg.dataset} has {data.class_names[:3]}...")
    if metrics and len(set(data.subjects)) < 2:
        raise ConfigError(f"--metrics: {cfg.dataset} has {len(set(data.subjects))} subject here; the recogniser's "
                          "user-independent protocol needs at least 2 (templates from one, tests on the others)")
    out_dir = _out_dir(cfg, checkpoint, overrides.get("run_name"))
    G = G.cpu()
    paths = render_samples(G, data, out_dir, cfg) + render_original_views(G, data, cfg, out_dir)
    for p in paths:
        print(f"rendered {p}")
    result = {"paths": [str(p) for p in paths], "out_dir": str(out_dir)}
    if metrics:
        m = compute_metrics(G, data, cfg, max_subjects=max_subjects)
        print(format_metrics(m, f"{checkpoint} on {cfg.dataset} ({len(data.x)} real samples)"))
        print(training_note(extra, cfg))
        result["metrics"] = m
        import json

        (out_dir / "metrics.json").write_text(json.dumps(m, indent=2))
    if show:
        show_on_screen(paths)  # the original's windows, when a display is there
    return result
