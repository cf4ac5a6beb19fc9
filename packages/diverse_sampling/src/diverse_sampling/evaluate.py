"""The report: evaluate a t1 or t2 checkpoint (ours or the authors' released ``.pth``) on the whole test set.

Prints and saves APD, ADE, FDE, MMADE, MMFDE (and FID / ACC when a classifier is found), renders the K futures of
test window 0. Outputs go to ``<run folder>/eval_<checkpoint>/`` for a checkpoint inside one of our run folders,
else to ``<log_dir>/diverse_sampling/eval_<checkpoint>/``. Nothing imports this module but ``main.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from diverse_sampling import compat, paths
from diverse_sampling.config import Config
from diverse_sampling.data.dataset import build_test_set
from diverse_sampling.data.io import write_atomic
from diverse_sampling.metrics import METRICS, evaluate_model
from diverse_sampling.models import check_cvae_pairing, checkpoint_kind, load_classifier, load_cvae, load_sampler
from diverse_sampling.render import render_futures
from motionkit.errors import CheckpointError
from motionkit.training.device import resolve_device


def format_table(metrics: dict[str, float]) -> str:
    keys = [k for k in (*METRICS, "FID", "ACC") if k in metrics]
    head = " | ".join(f"{k:>8}" for k in keys)
    row = " | ".join(f"{metrics[k]:8.4f}" for k in keys)
    return f"{head}\n{row}"


def load_models(cfg: Config, model_path: str | Path, device):
    """(cvae, sampler or None, t1 path) for a t1 or t2 checkpoint; a t2's CVAE comes from ``paths.t1_checkpoint``."""
    kind = checkpoint_kind(model_path)
    if kind == "classifier":
        raise CheckpointError(f"{model_path}: holds a classifier, not a t1 CVAE or t2 sampler to evaluate")
    if kind == "cvae":
        return load_cvae(model_path, cfg, device), None, Path(model_path)
    original = compat.is_original(compat.read_pth(model_path))
    t1_path = paths.t1_checkpoint(cfg, beside=model_path if original else None)
    cvae = load_cvae(t1_path, cfg, device)
    check_cvae_pairing(model_path, cvae, t1_path)
    return cvae, load_sampler(model_path, cfg, device), t1_path


def output_dir(cfg: Config, model_path: str | Path) -> Path:
    path = Path(model_path)
    if (path.parent / "run.json").is_file():  # one of our run folders
        return path.parent / f"eval_{path.stem}"
    return cfg.runs_root() / f"eval_{path.stem}"


def run_evaluation(cfg: Config, model_path: str | Path, render_outputs: bool = True,
                   require_classifier: bool = False) -> dict:
    """``--is_load=1``: evaluate ``model_path``, print the table, save ``metrics.json`` and the renders."""
    device = resolve_device(cfg.device)
    cvae, sampler, t1_path = load_models(cfg, model_path, device)
    clf_path = paths.classifier_checkpoint(cfg)
    if clf_path is None and require_classifier:
        released = compat.released_classifier_path(cfg.dataset)
        raise CheckpointError(f"no classifier for FID/ACC: put the authors' {released} in place, train one "
                              "(--train-classifier) or set --classifier_checkpoint")
    clf = load_classifier(clf_path, cfg, device) if clf_path is not None else None
    print(f"models: {model_path}" + (f" (CVAE {t1_path})" if sampler is not None else "")
          + (f"; classifier {clf_path}" if clf_path else "; FID/ACC skipped: no classifier (--train-classifier)"))
    test = build_test_set(cfg)
    metrics, first = evaluate_model(cfg, cvae, sampler, test, device, classifier=clf, return_first=True)
    out_dir = output_dir(cfg, model_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metrics, indent=1)
    write_atomic(out_dir / "metrics.json", lambda f: f.write(text.encode()))
    print(f"{cfg.exp_name} on {len(test)} test windows, K={cfg.nk} ({model_path}):")
    print(format_table(metrics))
    print(f"wrote {out_dir / 'metrics.json'}")
    if render_outputs:
        title = f"{cfg.exp_name}, test window 0"
        for p in render_futures(cfg.dataset, first, test.windows[0, cfg.t_his :], out_dir, title, cfg.render_samples):
            print(f"wrote {p}")
    return metrics
