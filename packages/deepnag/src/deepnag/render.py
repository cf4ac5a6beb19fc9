"""Pictures of real and generated gestures (files; no display needed).

Two families:

* ours, written after training and by `--evaluate`: `samples.png` (pen: a real sample then 3 fakes per class)
  or `samples.gif` + `samples_mid.png` (Kinect: a real and 2 fakes per class, side by side);
* the original's `--evaluate` views (visualizer.py), as files:
  - pen, `original_grid.png`: one column per class; row 1 a real sample (red), rows 2-17 sixteen fakes per class
    from a fixed latent (black), row 18 the 16 fakes overlaid (alpha 0.2), row 19 sixteen reals overlaid (red,
    alpha 0.2); a dot marks the stroke's start, y points up as on screen. The same figure is the TensorBoard
    `const_latent` image during training.
  - Kinect, `original_<class>.gif` for every class: one real (black) and 5 fakes (distinct colours, alpha
    0.35) overlaid and animated in the x-y plane, all centred on the real sample's mean joint position.
  Deliberate difference: reals are drawn un-normalised like the fakes (the original drew normalised reals beside
  un-normalised fakes, so the two rows had different scales).
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import torch

from deepnag.data import PreparedData, display_name
from deepnag.models import DeepNAGNet
from motionkit.skeletons import get_skeleton

ORIGINAL_PEN_FAKES = 16  # rows of fakes in the original's pen grid
ORIGINAL_KINECT_FAKES = 5  # fakes overlaid on each class's real sample


def generate(G: DeepNAGNet, labels: np.ndarray, steps: int, seed: int, batch: int = 256) -> np.ndarray:
    """Samples (N, steps, F) in the normalised space, reproducible for a seed."""
    gen = torch.Generator().manual_seed(seed)
    out = [G.generate(torch.as_tensor(labels[i:i + batch]), steps, generator=gen).cpu().numpy()
           for i in range(0, len(labels), batch)]
    return np.concatenate(out).astype(np.float64)


def _reals_of_class(data: PreparedData, c: int) -> np.ndarray:
    return np.flatnonzero(data.labels.numpy() == c)


# ------------------------------------------------------------------------------------------- ours


def render_samples(G: DeepNAGNet, data: PreparedData, out_dir: str | Path, cfg, n_fakes: int | None = None) -> list:
    """Real vs synthetic pictures into out_dir: samples.png (pen) or samples.gif (+ a still) for Kinect."""
    from motionkit.viz import save_pose_grid, save_skeleton_gif

    out_dir = Path(out_dir)
    rng = np.random.default_rng(cfg.eval_seed)
    G = G.eval()
    labels = data.labels.numpy()
    C = data.n_classes
    if data.kind == "pen":
        n_fakes = n_fakes or 3
        fakes = data.normalizer.unnormalize(generate(G, np.repeat(np.arange(C), n_fakes), cfg.resample_n,
                                                     cfg.eval_seed))
        polys, titles = [], []
        for c in range(C):
            i = rng.choice(np.flatnonzero(labels == c))
            polys.append(data.normalizer.unnormalize(data.x[i].numpy()))
            titles.append(f"real {data.class_names[c]}")
            for k in range(n_fakes):
                polys.append(fakes[c * n_fakes + k])
                titles.append(f"{display_name(data.class_names[c])} #{k + 1}")
        polys = [p * np.array([1.0, -1.0]) for p in polys]  # screen y points down
        return [save_pose_grid(out_dir / "samples.png", polys, titles=titles, ncols=2 * (n_fakes + 1))]
    n_fakes = n_fakes or 2
    skel = get_skeleton("jk2017_kinect_21")
    fakes = data.normalizer.unnormalize(generate(G, np.repeat(np.arange(C), n_fakes), cfg.resample_n, cfg.eval_seed))
    seqs, titles = [], []
    for c in range(C):
        i = rng.choice(np.flatnonzero(labels == c))
        real = data.normalizer.unnormalize(data.x[i].numpy()).reshape(cfg.resample_n, -1, 3)
        seqs.append(real[..., :2])
        titles.append(f"real {display_name(data.class_names[c])}")
        for k in range(n_fakes):
            seqs.append(fakes[c * n_fakes + k].reshape(cfg.resample_n, -1, 3)[..., :2])
            titles.append(f"fake #{k + 1}")
    ncols = 2 * (n_fakes + 1)
    # the GIF shows an evenly spaced subset of classes at every 2nd point (matplotlib animation is slow);
    # the still shows every class at the middle of the sequence
    shown = np.linspace(0, C - 1, min(C, cfg.gif_classes)).round().astype(int)
    keep = [c * (n_fakes + 1) + k for c in shown for k in range(n_fakes + 1)]
    paths = [save_skeleton_gif(out_dir / "samples.gif", [seqs[i][::2] for i in keep], skel,
                               titles=[titles[i] for i in keep], fps=10, ncols=ncols)]
    mid = cfg.resample_n // 2
    paths.append(save_pose_grid(out_dir / "samples_mid.png", [s[mid] for s in seqs], skel, titles=titles, ncols=ncols))
    return paths


# ------------------------------------------------------------------------------------ the original's views


def pen_grid_figure(G: DeepNAGNet, data: PreparedData, cfg, n_fakes: int = ORIGINAL_PEN_FAKES):
    """The original's 2-D view (module docstring) as a matplotlib Figure; fixed latent from cfg.eval_seed.

    One axes holds the whole grid, each cell scaled like one of the original's autoscaled subplots (hundreds of
    real subplots take seconds to build).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    C, rows = data.n_classes, n_fakes + 3
    rng = np.random.default_rng(cfg.eval_seed)
    fake_labels = np.tile(np.arange(C), n_fakes)  # row-major: one row holds one fake of every class
    fakes = data.normalizer.unnormalize(generate(G.eval(), fake_labels, cfg.resample_n, cfg.eval_seed))
    reals = data.normalizer.unnormalize(data.x.numpy())
    fig = plt.figure(figsize=(max(4.0, 1.1 * C), 1.0 * rows))
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.96))
    ax.set_xlim(0, C)
    ax.set_ylim(-rows, 0)
    ax.axis("off")

    cells: dict[tuple[int, int], list] = {}  # (row, col) -> [(points, colour, alpha)]

    def draw(row, col, pts, colour, alpha=1.0):
        cells.setdefault((row, col), []).append((np.asarray(pts, dtype=np.float64) * [1.0, -1.0], colour, alpha))

    for c in range(C):
        ax.text(c + 0.5, 0.02, display_name(data.class_names[c]), ha="center", va="bottom", fontsize=7)
        draw(0, c, reals[rng.choice(_reals_of_class(data, c))], "red")
        for k in range(n_fakes):
            draw(1 + k, c, fakes[k * C + c], "black")
            draw(n_fakes + 1, c, fakes[k * C + c], "black", 0.2)
            draw(n_fakes + 2, c, reals[rng.choice(_reals_of_class(data, c))], "red", 0.2)
    styles: dict[tuple[str, float], list] = {}  # one collection per colour/alpha (overlaps still add up)
    for (row, col), items in cells.items():
        # like one autoscaled subplot of the original: x and y each stretched to the cell (y up on screen)
        every = np.concatenate([pts for pts, _, _ in items])
        lo, span = every.min(axis=0), np.where(np.ptp(every, axis=0) > 0, np.ptp(every, axis=0), 1.0)
        for pts, colour, alpha in items:
            xy = (pts - lo) / span * 0.8 + 0.1 + [col, -row - 1]
            styles.setdefault((colour, alpha), []).append(xy)
    for (colour, alpha), lines in styles.items():
        ax.add_collection(LineCollection(lines, colors=colour, linewidths=1.0, alpha=alpha))
        starts = np.stack([xy[0] for xy in lines])
        ax.scatter(starts[:, 0], starts[:, 1], s=6, color=colour, alpha=alpha, linewidths=0)
    return fig


def save_pen_grid(G: DeepNAGNet, data: PreparedData, cfg, path: str | Path) -> Path:
    """pen_grid_figure written to `path` (PNG)."""
    import matplotlib.pyplot as plt

    fig = pen_grid_figure(G, data, cfg)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _distinct_colours(n: int, rng: np.random.Generator) -> list[tuple[float, float, float]]:
    """n hues evenly spaced on the colour wheel, lightness 50-60 %, saturation 90-100 % (as the original)."""
    return [colorsys.hls_to_rgb(h / n, (50 + 10 * rng.random()) / 100, (90 + 10 * rng.random()) / 100)
            for h in range(n)]


def kinect_overlay_gif(real: np.ndarray, fakes: np.ndarray, title: str, path: str | Path, frame_step: int = 1,
                       seed: int = 0) -> Path:
    """One class of the original's 3-D view: real (T, 63) in black over fakes (K, T, 63), x-y plane, animated.

    Everything is centred on the real sample's mean joint position (metres); 20 ms per frame as the original.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    skel = get_skeleton("jk2017_kinect_21")
    bones = [(p, j) for j, p in enumerate(skel.parents) if p >= 0]
    T = len(real)
    centre = real.reshape(T, -1, 3).mean(axis=(0, 1))
    seqs = [s.reshape(T, -1, 3) - centre for s in (*fakes, real)]  # the real one last, so it is drawn on top
    colours = [*_distinct_colours(len(fakes), np.random.default_rng(seed)), (0.0, 0.0, 0.0)]
    fig, ax = plt.subplots(figsize=(4, 4), dpi=72)
    ax.set_xlim(-1.0, 1.0)
    ax.set_ylim(-1.1, 1.0)
    ax.axis("off")
    ax.text(0, -1.05, title, ha="center", fontsize=12, fontweight="bold")
    lines = []
    for k, colour in enumerate(colours):
        alpha = 1.0 if k == len(colours) - 1 else 0.35
        lines.append(ax.plot([], [], color=colour, alpha=alpha, linewidth=2.0, marker="o", markersize=3)[0])
    frames = []
    for t in range(0, T, frame_step):
        for line, seq in zip(lines, seqs):
            xs, ys = [], []
            for a, b in bones:
                xs += [seq[t, a, 0], seq[t, b, 0], np.nan]
                ys += [seq[t, a, 1], seq[t, b, 1], np.nan]
            line.set_data(xs, ys)
        fig.canvas.draw()
        frames.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3]).convert("P"))
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=20 * frame_step, loop=0)
    return path


def save_kinect_overlays(G: DeepNAGNet, data: PreparedData, cfg, out_dir: str | Path, frame_step: int = 1) -> list:
    """original_<class>.gif for every class (one real, 5 fakes); reals picked reproducibly from cfg.eval_seed."""
    rng = np.random.default_rng(cfg.eval_seed)
    C, K = data.n_classes, ORIGINAL_KINECT_FAKES
    fakes = data.normalizer.unnormalize(generate(G.eval(), np.repeat(np.arange(C), K), cfg.resample_n, cfg.eval_seed))
    paths = []
    for c in range(C):
        real = data.normalizer.unnormalize(data.x[rng.choice(_reals_of_class(data, c))].numpy())
        name = data.class_names[c]
        paths.append(kinect_overlay_gif(real, fakes[c * K:(c + 1) * K], display_name(name),
                                        Path(out_dir) / f"original_{name}.gif", frame_step, cfg.eval_seed))
    return paths


def render_original_views(G: DeepNAGNet, data: PreparedData, cfg, out_dir: str | Path) -> list:
    """What the original's `--evaluate` shows, as files in out_dir (see the module docstring)."""
    if data.kind == "pen":
        return [save_pen_grid(G, data, cfg, Path(out_dir) / "original_grid.png")]
    return save_kinect_overlays(G, data, cfg, out_dir)


# ------------------------------------------------------------------------------------------- on screen


def show_on_screen(paths: list) -> bool:
    """Open the original's views in windows, as the original's --evaluate does, when a display is there
    ($DISPLAY / $WAYLAND_DISPLAY and an interactive matplotlib backend); blocks until they are closed.
    Returns False (and does nothing) without a display."""
    import os

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import matplotlib.pyplot as plt
    from matplotlib import animation
    from PIL import Image, ImageSequence

    for backend in ("QtAgg", "TkAgg", "GTK4Agg", "GTK3Agg"):
        try:
            plt.switch_backend(backend)
            break
        except (ImportError, RuntimeError):
            continue
    else:
        return False
    keep = []  # animations must stay referenced while shown
    try:
        for path in [p for p in map(Path, paths) if p.name.startswith("original_")]:
            frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(Image.open(path))]
            fig, ax = plt.subplots(num=path.stem)
            ax.axis("off")
            image = ax.imshow(frames[0])
            if len(frames) > 1:
                keep.append(animation.FuncAnimation(fig, lambda t, im=image, fr=frames: [im.set_data(fr[t])],
                                                    frames=len(frames), interval=20, blit=False))
        plt.show()
    except Exception as exc:  # a display variable without a usable display: the files are there anyway
        print(f"note: could not open a window ({type(exc).__name__}); the pictures are files only")
        return False
    return True
