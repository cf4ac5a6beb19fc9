"""Pictures: an inferred sequence beside its ground truth (the original's ``vis_sequence.py``), and generator
samples (its ``gan_generator_vis.py``), through motionkit.viz."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apo_tf.config import InferenceConfig
from apo_tf.data import registry
from apo_tf.infer import RESULTS, find_inference_run, load_results
from apo_tf.runs import data_root, locked
from motionkit.errors import DataFormatError
from motionkit.skeletons import get_skeleton
from motionkit.viz import save_skeleton_gif


def render(cfg: InferenceConfig, root: Path, run: str = "", key: str | None = None, out: str | None = None) -> Path:
    """GIF of one example (default: the first) of an inference run: inferred (world frame) | ground truth."""
    run_dir = find_inference_run(cfg, root, run)
    if out is None:  # it writes into the run folder: not while an inference writes there (as report)
        with locked(run_dir):
            return _render(cfg, root, run_dir, key, out)
    return _render(cfg, root, run_dir, key, out)


def _render(cfg: InferenceConfig, root: Path, run_dir: Path, key: str | None, out: str | None) -> Path:
    preds = load_results(run_dir / RESULTS, cfg.inference_id)
    key = key or sorted(preds)[0]
    if key not in preds:
        raise DataFormatError(f"no example {key!r} in {cfg.inference_id}; known: {', '.join(sorted(preds)[:5])} ...")
    seq = next((s for s in registry.load(cfg.dataset, "eval", data_root(cfg, root), cfg.eva_split)
                if s.key == key), None)
    if seq is None:
        raise DataFormatError(f"{cfg.dataset}: no ground truth for {key!r}")
    if np.shape(preds[key]) != seq.p3w.shape:
        raise DataFormatError(f"{run_dir / RESULTS}: {cfg.inference_id}/{key}/p3w has shape {np.shape(preds[key])}, "
                              f"ground truth {seq.p3w.shape} (a damaged results file: delete it, or start a new run)")
    path = Path(out or run_dir / "vis" / f"{key.replace(' ', '_')}.gif")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_skeleton_gif(path, [np.asarray(preds[key]), seq.p3w], get_skeleton(seq.skeleton),
                      titles=["inferred", "ground truth"], fps=min(int(seq.fps), 20))
    return path


def render_samples(gan_dir: Path, n: int = 8, seed: int = 0, out: str | None = None) -> Path:
    """A grid of ``n`` generator samples G(z), z ~ N(0, I) with a fixed seed, of the GAN in ``gan_dir``."""
    import tensorflow as tf

    from apo_tf.models import load_gan
    from motionkit.viz import save_pose_grid

    cfg, G, _, step = load_gan(gan_dir)
    poses = G(tf.random.stateless_normal([n, cfg.n_z], seed=(seed, 7))).numpy()
    skel = get_skeleton("apo_s24" if poses.shape[1] == 24 else "apo_s14")
    path = Path(out or Path(gan_dir) / f"samples-{step}.png")
    save_pose_grid(str(path), poses, skeleton=skel, ncols=4, dims=3)
    return path
