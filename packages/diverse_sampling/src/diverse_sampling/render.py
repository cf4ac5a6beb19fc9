"""Pictures of K futures: an overlay plot at a few frames (ground truth or history in black) and a GIF.

Futures are node vectors (T, D = 3n), root-relative in metres; the root is drawn at the origin.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def with_root(seq: np.ndarray) -> np.ndarray:
    """(..., T, D) node vectors -> (..., T, n+1, 3) with the root at the origin (for drawing)."""
    pos = seq.reshape(*seq.shape[:-1], -1, 3)
    return np.concatenate([np.zeros_like(pos[..., :1, :]), pos], axis=-2)


def render_futures(dataset: str, futures: np.ndarray, reference: np.ndarray, out_dir: Path, title: str,
                   n_samples: int = 10, reference_name: str = "GT") -> list[Path]:
    """``futures`` (K, T, D) overlaid on ``reference`` (T', D) in ``futures_overlay.png``, and ``futures.gif``
    with the reference beside up to 5 samples. Returns the written paths."""
    from motionkit.skeletons import get_skeleton
    from motionkit.viz import save_overlay_plot, save_skeleton_gif

    skel = get_skeleton("h36m_17" if dataset == "h36m" else "humaneva_15")
    k = min(n_samples, len(futures))
    ref = with_root(reference)
    samples = [with_root(f) for f in futures[:k]]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [save_overlay_plot(out_dir / "futures_overlay.png", samples, skel, reference=ref,
                               title=f"{title}: {k} of {len(futures)} futures")]
    step = max(1, futures.shape[1] // 25)
    seqs = [ref[::step]] + [s[::step] for s in samples[:5]]
    paths.append(save_skeleton_gif(out_dir / "futures.gif", seqs, skel,
                                   titles=[reference_name] + [f"sample {i}" for i in range(len(seqs) - 1)], fps=10))
    return paths
