"""Drawing poses and sequences with matplotlib (Agg backend: no screen needed).

Poses are ``(J, 2)`` or ``(J, 3)`` arrays; a skeleton connects them with its bones. Without a skeleton the
points are drawn as one polyline, which is how pen gestures ``(T, 2)`` are shown. 2-D data uses image-like
coordinates only if the caller flips y; 3-D data is drawn with z up.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import animation  # noqa: E402

from motionkit.skeletons import Skeleton  # noqa: E402

__all__ = ["draw_pose", "save_pose_grid", "save_skeleton_gif", "save_overlay_plot", "plot_curves"]

_LEFT, _RIGHT, _CENTRE = "#1f77b4", "#d62728", "#444444"


def _bone_colours(skeleton: Skeleton) -> list[str]:
    left = {skeleton.index(a) for a, _ in skeleton.symmetry}
    right = {skeleton.index(b) for _, b in skeleton.symmetry}
    return [_LEFT if c in left else _RIGHT if c in right else _CENTRE for c, _ in skeleton.bones]


def _limits(points: np.ndarray, margin: float = 0.05) -> list[tuple[float, float]]:
    flat = points.reshape(-1, points.shape[-1])
    flat = flat[np.isfinite(flat).all(axis=1)]
    lo, hi = flat.min(axis=0), flat.max(axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1e-6) * (1 + margin)
    return [(c - half, c + half) for c in centre]


def draw_pose(ax, pose: np.ndarray, skeleton: Skeleton | None = None, alpha: float = 1.0, colour=None,
              lw: float = 2.0):
    """Draw one pose (or one pen stroke) on ``ax``; returns the artists (for animation)."""
    pose = np.asarray(pose, dtype=float)
    is3d = pose.shape[-1] == 3
    artists = []
    if skeleton is None:
        coords = pose.T
        (line,) = ax.plot(*coords, color=colour or _CENTRE, alpha=alpha, lw=lw)
        artists.append(line)
        (start,) = ax.plot(*pose[:1].T, "o", color="#2ca02c", alpha=alpha, ms=4)
        artists.append(start)
        return artists
    colours = _bone_colours(skeleton)
    for (child, parent), c in zip(skeleton.bones, colours):
        seg = pose[[parent, child]].T
        (line,) = ax.plot(*seg, color=colour or c, alpha=alpha, lw=lw)
        artists.append(line)
    if not is3d:
        artists.append(ax.scatter(pose[:, 0], pose[:, 1], s=6, color=colour or _CENTRE, alpha=alpha))
    return artists


def _new_axes(fig, rows: int, cols: int, index: int, dims: int):
    return fig.add_subplot(rows, cols, index, projection="3d" if dims == 3 else None)


def _style(ax, limits, dims: int, title: str | None) -> None:
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    if dims == 3:
        ax.set_zlim(*limits[2])
        ax.set_box_aspect((1, 1, 1))
        ax.set_xticklabels([])
        ax.set_yticklabels([])
        ax.set_zticklabels([])
    else:
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def save_pose_grid(
    path: str | Path, poses: Sequence[np.ndarray] | np.ndarray, skeleton: Skeleton | None = None,
    titles: Sequence[str] | None = None, ncols: int = 4, dims: int | None = None, share_limits: bool = False,
) -> Path:
    """A PNG grid with one pose (or one pen trajectory) per cell. ``poses``: N arrays of shape ``(J, C)``."""
    poses = [np.asarray(p, dtype=float) for p in poses]
    dims = dims or poses[0].shape[-1]
    rows = int(np.ceil(len(poses) / ncols))
    fig = plt.figure(figsize=(2.2 * ncols, 2.2 * rows))
    shared = _limits(np.concatenate([p.reshape(-1, dims) for p in poses])) if share_limits else None
    for i, pose in enumerate(poses):
        ax = _new_axes(fig, rows, ncols, i + 1, dims)
        draw_pose(ax, pose, skeleton)
        _style(ax, shared or _limits(pose), dims, titles[i] if titles else None)
    fig.tight_layout()
    return _save(fig, path)


def save_overlay_plot(
    path: str | Path, sequences: Sequence[np.ndarray], skeleton: Skeleton | None, reference: np.ndarray | None = None,
    frames: Sequence[int] | None = None, title: str | None = None,
) -> Path:
    """Overlay many sequences ``(T, J, C)`` (e.g. K predicted futures) at a few frames, one panel per frame.

    ``reference`` (the ground truth, same shape) is drawn in black on top.
    """
    seqs = [np.asarray(s, dtype=float) for s in sequences]
    t = seqs[0].shape[0]
    frames = list(frames) if frames is not None else sorted({0, t // 4, t // 2, 3 * t // 4, t - 1})
    dims = seqs[0].shape[-1]
    every = np.concatenate([s[frames].reshape(-1, dims) for s in seqs])
    limits = _limits(every if reference is None else np.concatenate([every, reference[frames].reshape(-1, dims)]))
    fig = plt.figure(figsize=(2.6 * len(frames), 2.8))
    cmap = plt.get_cmap("viridis")
    for col, f in enumerate(frames):
        ax = _new_axes(fig, 1, len(frames), col + 1, dims)
        for k, s in enumerate(seqs):
            draw_pose(ax, s[f], skeleton, alpha=0.35, colour=cmap(k / max(len(seqs) - 1, 1)), lw=1.0)
        if reference is not None:
            draw_pose(ax, reference[f], skeleton, colour="black", lw=2.0)
        _style(ax, limits, dims, f"frame {f}")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def save_skeleton_gif(
    path: str | Path, sequences: Sequence[np.ndarray], skeleton: Skeleton | None, titles: Sequence[str] | None = None,
    fps: int = 20, ncols: int | None = None,
) -> Path:
    """An animated GIF with the sequences ``(T, J, C)`` side by side (shorter ones hold their last frame)."""
    seqs = [np.asarray(s, dtype=float) for s in sequences]
    dims = seqs[0].shape[-1]
    ncols = ncols or len(seqs)
    rows = int(np.ceil(len(seqs) / ncols))
    fig = plt.figure(figsize=(2.6 * ncols, 2.6 * rows))
    axes = [_new_axes(fig, rows, ncols, i + 1, dims) for i in range(len(seqs))]
    limits = [_limits(s) for s in seqs]
    n_frames = max(s.shape[0] for s in seqs)

    def frame(t: int):
        artists = []
        for i, (ax, s) in enumerate(zip(axes, seqs)):
            ax.cla()
            _style(ax, limits[i], dims, titles[i] if titles else None)
            artists += draw_pose(ax, s[min(t, s.shape[0] - 1)], skeleton)
        return artists

    anim = animation.FuncAnimation(fig, frame, frames=n_frames, blit=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(str(path), writer=animation.PillowWriter(fps=fps))
    plt.close(fig)
    return path


def plot_curves(path: str | Path, history: dict[str, list[tuple[int, float]]], title: str | None = None,
                logy: bool = False) -> Path:
    """Loss curves: one line per scalar name, x = step. ``history`` is what ``RunLogger.history()`` returns."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, points in sorted(history.items()):
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, label=name, lw=1.2)
    ax.set_xlabel("step")
    if logy:
        ax.set_yscale("symlog")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
