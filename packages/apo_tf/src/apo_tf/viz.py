"""Pictures: an inferred sequence beside its ground truth as a 3D skeleton GIF (motionkit.viz)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apo_tf.config import InferenceConfig
from apo_tf.data import registry
from apo_tf.evaluate import load_results
from motionkit.errors import DataFormatError
from motionkit.skeletons import get_skeleton
from motionkit.viz import save_skeleton_gif


def render(cfg: InferenceConfig, home: Path, key: str | None = None, out: str | None = None) -> Path:
    """GIF of one example (default: the first) of ``cfg.inference_id``: inferred (world frame) | ground truth."""
    from apo_tf.infer import results_path

    preds = load_results(results_path(home), cfg.inference_id)
    key = key or sorted(preds)[0]
    if key not in preds:
        raise DataFormatError(f"no example {key!r} in {cfg.inference_id}; known: {', '.join(sorted(preds)[:5])} ...")
    data_root = cfg.data_root or str(Path(home) / "data")
    seq = next((s for s in registry.load(cfg.dataset, "eval", data_root, cfg.eva_split) if s.key == key), None)
    if seq is None:
        raise DataFormatError(f"{cfg.dataset}: no ground truth for {key!r}")
    path = Path(out or Path(home) / "vis" / f"{cfg.inference_id}__{key.replace(' ', '_')}.gif")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_skeleton_gif(path, [np.asarray(preds[key]), seq.p3w], get_skeleton(seq.skeleton),
                      titles=["inferred", "ground truth"], fps=min(int(seq.fps), 20))
    return path
