"""Renders: prediction beside ground truth on the 52-joint PATS skeleton (motionkit "pats_52").

GIF always (matplotlib/Pillow); when ffmpeg exists (on PATH, or the binary of the ``[video]`` extra,
imageio-ffmpeg) also an MP4, muxed with the window's stretch of the interval's audio from
``raw/<speaker>_cropped/<interval>.mp3`` (or ``.wav``) when that file exists (the original's render).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import torch

from motionkit.skeletons import get_skeleton

from .data.clusters import kept_joints
from .data.pats import N_JOINTS, POSE_FS, PatsData
from .models import load_step


def full_skeleton(pose96: np.ndarray, gt104: np.ndarray | None, mask) -> np.ndarray:
    """Un-normalised masked pose (T, 96) -> (T, 52, 2) with the root at 0; masked joints (nose, eyes) = GT
    offsets from their parents (original: predicted parent + GT offset), or a fixed head when no GT exists.
    y is flipped for drawing (image coords point down)."""
    T = pose96.shape[0]
    out = np.zeros((T, N_JOINTS, 2))
    k = kept_joints(mask)
    out[:, k, 0], out[:, k, 1] = pose96[:, : len(k)], pose96[:, len(k):]
    for j in mask:
        if j == 0:
            continue
        if gt104 is not None:
            out[:, j] = np.stack([gt104[:, j], gt104[:, N_JOINTS + j]], -1)
        else:
            out[:, j] = {7: (0, -110), 8: (-25, -130), 9: (25, -130)}.get(j, (0, 0))
    out[..., 1] *= -1
    return out


def window_words(data: PatsData, item: dict) -> list[tuple[str, int, int]]:
    """Words of the interval's transcript (``text/meta``) that overlap the window of `item` (frame numbers of
    the interval)."""
    from .data.pats import read_meta
    start, end = item["start"], item["start"] + 64
    words = read_meta(data.path(item["speaker"], item["interval_id"]))
    return [(w, a, b) for w, a, b in words if b > start and a < end]


def find_ffmpeg() -> str | None:
    """ffmpeg on PATH, else the binary shipped by imageio-ffmpeg (``pip install 'cdiffgan[video]'``), else None."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # the wheel has no binary for this platform
        return None


def interval_audio(data_dir, speaker: str, interval_id: str) -> Path | None:
    """The interval's recording, ``raw/<speaker>_cropped/<interval>.mp3`` (PATS) or ``.wav``; None if absent."""
    for ext in (".mp3", ".wav"):
        path = Path(data_dir) / "raw" / f"{speaker}_cropped" / f"{interval_id}{ext}"
        if path.exists():
            return path
    return None


def write_video(gif: Path, audio: Path | None = None, fps: int = 15, audio_offset: float = 0.0) -> Path | None:
    """GIF -> MP4 when ffmpeg exists (None otherwise), muxed with ``audio`` from ``audio_offset`` seconds on
    (a window's start inside its interval) and cut to the video's length."""
    ff = find_ffmpeg()
    if ff is None:
        return None
    mp4 = gif.with_suffix(".mp4")
    cmd = [ff, "-y", "-loglevel", "error", "-i", str(gif)]
    if audio is not None and audio.exists():
        cmd += ["-ss", f"{audio_offset:.3f}", "-i", str(audio), "-map", "0:v", "-map", "1:a", "-shortest"]
    # setpts re-times frame n to n / fps: GIF delays are whole centiseconds (15 fps is stored as 60 or 70 ms),
    # which would let the motion drift ~0.4 s from the audio over a 4.3 s window
    vf = f"setpts=N/({fps}*TB),scale=trunc(iw/2)*2:trunc(ih/2)*2"
    cmd += ["-r", str(fps), "-pix_fmt", "yuv420p", "-vf", vf, str(mp4)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        from motionkit.errors import DataFormatError
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DataFormatError(f"{mp4}: ffmpeg failed ({why}); inputs {gif}" + (f" and {audio}" if audio else ""))
    return mp4


@torch.no_grad()
def render_run(run, n=20, step=None, speakers=None, out_dir=None, seed=0, device="cpu", log=print) -> list[Path]:
    """Render `n` random test windows (seed 0) per speaker with the model of `step` (default: the last)."""
    run = Path(run)
    finals = sorted(run.glob("step*_*/final.pt"), key=lambda p: int(p.parent.name[4:].split("_")[0]))
    if step is not None:
        finals = [f for f in finals if f.parent.name.startswith(f"step{step}_")]
    if not finals:
        from motionkit.errors import DatasetMissingError
        raise DatasetMissingError(f"{run}: no step*/final.pt to render" + (f" for step {step}" if step else ""))
    cfg, G, _, pre, seen, st = load_step(finals[-1], device)
    G.eval()
    speakers = speakers or seen
    data = PatsData(cfg.data_dir, seen, "test", 0, cfg.time, cfg.fps, cfg.vocab_size)
    unknown = [s for s in speakers if s not in seen]
    if unknown:
        from motionkit.errors import ConfigError
        raise ConfigError(f"--speaker {', '.join(unknown)}: not a speaker of {finals[-1]} ({', '.join(seen)})")
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir or run / f"render_step{st}")
    paths = []
    for spk in speakers:
        lo, hi = data.ranges[spk]
        if hi <= lo:
            continue
        picks = rng.choice(np.arange(lo, hi), size=min(n, hi - lo), replace=False)
        for i in picks:
            it = data.item(int(i))
            batch = pre.make_batch([it], [seen.index(spk)], device)
            pred = pre.denorm_pose96(G.sample(batch))[0]
            gt = pre.denorm_pose96(batch["pose"])[0]
            seqs = [full_skeleton(pred, it["pose"], cfg.mask), full_skeleton(gt, it["pose"], cfg.mask)]
            path = out_dir / "test" / spk / f"{it['interval_id']}_{it['start']:05d}.gif"
            words = [(w, a - it["start"], b - it["start"]) for w, a, b in window_words(data, it)]
            save_captioned_gif(path, seqs, [f"ours t{st}", "ground truth"], words, fps=cfg.fps)
            audio = interval_audio(cfg.data_dir, spk, it["interval_id"])
            mp4 = write_video(path, audio, cfg.fps, audio_offset=it["start"] / POSE_FS)
            paths.append(mp4 or path)
    log(f"wrote {len(paths)} render(s) under {out_dir}" + ("" if find_ffmpeg() else " (GIF: no ffmpeg)"))
    return paths


@torch.no_grad()
def generate(run, audio, speaker, transcript=None, out=None, device="cpu", log=print) -> Path:
    """Gestures for a new recording in the style of `speaker` (a speaker of the run's last step)."""
    import h5py

    from .data.featurize import featurize
    run = Path(run)
    finals = sorted(run.glob("step*_*/final.pt"), key=lambda p: int(p.parent.name[4:].split("_")[0]))
    if not finals:
        from motionkit.errors import DatasetMissingError
        raise DatasetMissingError(f"{run}: no step*/final.pt")
    cfg, G, _, pre, seen, st = load_step(finals[-1], device)
    if speaker not in seen:
        from motionkit.errors import ConfigError
        raise ConfigError(f"speaker {speaker!r} is not in this run ({', '.join(seen)})")
    G.eval()
    out = Path(out or run / "generated" / Path(audio).stem)
    h5 = featurize(audio, out / "features.h5", transcript, cfg.vocab_size)
    with h5py.File(h5, "r") as f:
        mel, tok = f["audio/log_mel_400"][()], f["text/tokens"][()]
    n_win = min(len(tok) // 64, (len(mel) - 442) // 442 + 1)
    if n_win < 1:
        from motionkit.errors import DataFormatError
        raise DataFormatError(f"{audio}: shorter than one 4.3 s window")
    items = [{"pose": np.zeros((64, 2 * N_JOINTS), np.float32), "audio": mel[w * 442:(w + 1) * 442:7],
              "tokens": tok[w * 64:(w + 1) * 64]} for w in range(n_win)]
    batch = pre.make_batch(items, [seen.index(speaker)] * n_win, device)
    pred = pre.denorm_pose96(G.sample(batch)).reshape(-1, 96)
    with h5py.File(out / "keypoints.h5", "w") as f:
        f["pose/normalize"] = pred.astype(np.float32)
    gif = save_captioned_gif(out / f"{speaker}.gif", [full_skeleton(pred, None, cfg.mask)], [f"{speaker} (t{st})"],
                             [], fps=cfg.fps)
    mp4 = write_video(gif, Path(audio), cfg.fps)
    log(f"wrote {mp4 or gif} and {out / 'keypoints.h5'}")
    return mp4 or gif


@torch.no_grad()
def render_compare(finals, titles, speaker, out, window=0, device="cpu", log=print) -> Path:
    """One test window of `speaker` rendered by several step checkpoints side by side with the ground truth
    (e.g. after t1 and after the last step: what the later steps did to an old speaker)."""
    from motionkit.errors import ConfigError
    if len(titles) != len(finals):
        raise ConfigError(f"--titles: {len(titles)} title(s) for {len(finals)} checkpoint(s)")
    if Path(out).suffix.lower() != ".gif" or Path(out).is_dir():
        raise ConfigError(f"--out {out}: must name a .gif file (compare writes one animated GIF)")
    seqs, gt_seq = [], None
    for f in finals:
        cfg, G, _, pre, seen, _ = load_step(f, device)
        G.eval()
        if speaker not in seen:
            raise ConfigError(f"--speaker {speaker}: not a speaker of {f} ({', '.join(seen)})")
        data = PatsData(cfg.data_dir, seen, "test", 0, cfg.time, cfg.fps, cfg.vocab_size)
        lo, hi = data.ranges[speaker]
        if not 0 <= window < hi - lo:
            raise ConfigError(f"--window {window}: {speaker} has {hi - lo} test window(s) in {cfg.data_dir} "
                              f"(0..{hi - lo - 1})")
        it = data.item(lo + window)
        batch = pre.make_batch([it], [seen.index(speaker)], device)
        seqs.append(full_skeleton(pre.denorm_pose96(G.sample(batch))[0], it["pose"], cfg.mask))
        if gt_seq is None:
            gt_seq = full_skeleton(pre.denorm_pose96(batch["pose"])[0], it["pose"], cfg.mask)
    path = save_captioned_gif(out, [gt_seq] + seqs, ["ground truth"] + list(titles), [], fps=15)
    log(f"wrote {path}")
    return path


def save_captioned_gif(path, sequences, titles, words, fps=15, dpi=60) -> Path:
    """Sequences (T, 52, 2) side by side on the PATS skeleton (axes +-500 as the original), with the word spoken
    at each frame as a caption. words: [(word, start_frame, end_frame)] (``text/meta``). The bones are one
    LineCollection per panel whose segments are updated per frame (whole intervals render in seconds)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import animation
    from matplotlib.collections import LineCollection

    parents = get_skeleton("pats_52").parents
    bones = [(j, p) for j, p in enumerate(parents) if p >= 0]
    fig, axes = plt.subplots(1, len(sequences), figsize=(2.6 * len(sequences), 3.0), squeeze=False)
    lines = []
    for ax, title in zip(axes[0], titles):
        ax.set_xlim(-500, 500)
        ax.set_ylim(-500, 500)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title, fontsize=9)
        lines.append(ax.add_collection(LineCollection([], linewidths=1.5, colors="tab:blue")))
    caption = fig.text(0.5, 0.04, "", ha="center", fontsize=10)
    n = max(len(s) for s in sequences)
    spoken = [""] * n
    for w, a, b in words:
        for t in range(max(a, 0), min(b, n)):
            spoken[t] = w

    def frame(t):
        for lc, seq in zip(lines, sequences):
            pose = seq[min(t, len(seq) - 1)]
            lc.set_segments([pose[[j, p]] for j, p in bones])
        caption.set_text(spoken[t])
        return lines + [caption]

    anim = animation.FuncAnimation(fig, frame, frames=n, blit=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    anim.save(str(path), writer=animation.PillowWriter(fps=fps), dpi=dpi)
    plt.close(fig)
    return path


def write_html_index(folder: Path, renders: list[Path], title: str) -> Path:
    """``videos.html`` in `folder`: every render (MP4 as <video>, GIF as <img>) with its speaker and interval."""
    rows = []
    for p in renders:
        rel = p.relative_to(folder).as_posix()
        tag = (f'<video src="{rel}" controls width="480"></video>' if p.suffix == ".mp4"
               else f'<img src="{rel}" width="480">')
        rows.append(f"<figure>{tag}<figcaption>{rel}</figcaption></figure>")
    html = folder / "videos.html"
    html.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
                    f"<h1>{title}</h1>\n" + "\n".join(rows) + "\n</body></html>\n")
    return html


def render_original(weights, n=20, device="cpu", log=print) -> list[Path]:
    """The original's ``render.py -load <..._weights.p> -render N``: for each ``keypoints*/test/<speaker>/`` of the
    run, N files picked as the original did (numpy seed 0, permutation), prediction beside the ground truth of
    ``<path2data>/processed/<speaker>/<interval>.h5`` with word captions from ``text/meta``, written to
    ``render[_style]/test/<speaker>/<interval>.gif`` (+ .mp4 with the interval's audio when ffmpeg exists) and an
    HTML index ``videos.html``."""
    from . import compat
    from .data.pats import read_meta
    weights = Path(weights)
    if weights.name.endswith("_weights.p") and not weights.exists():  # (a wrong name is compat.sibling's line)
        from motionkit.errors import DatasetMissingError
        raise DatasetMissingError(f"-load {weights}: no such file")
    args = compat.read_args(compat.sibling(weights, "args.args"))
    run_dir = weights.parent / weights.name[: -len("_weights.p")]
    if not run_dir.is_dir():
        from motionkit.errors import DatasetMissingError
        raise DatasetMissingError(f"{run_dir}: no keypoints folder beside {weights.name} (run the training first)")
    spk = args["speaker"]
    speakers = [spk] if isinstance(spk, str) else (spk[1] if spk and isinstance(spk[0], list) else spk)
    gt_root = Path(args["path2data"]) / "processed"
    renders = []
    for kdir in sorted(p for p in run_dir.iterdir() if p.name.startswith("keypoints")):
        sub = "render" + kdir.name[len("keypoints"):]
        for s in speakers:
            folder = kdir / "test" / s
            if not folder.is_dir():
                continue
            files = sorted(p.name for p in folder.iterdir())
            np.random.seed(0)
            for name in [files[i] for i in np.random.permutation(len(files))[:n]]:
                pred = _read_pose(folder / name).reshape(-1, 2, N_JOINTS)
                gt = _read_pose(gt_root / s / name).reshape(-1, 2, N_JOINTS)[: len(pred)]
                words = read_meta(gt_root / s / name) if args.get("render_text", 1) else []
                seqs = [_to_frames(pred), _to_frames(gt)]
                gif = save_captioned_gif(run_dir / sub / "test" / s / f"{Path(name).stem}.gif", seqs,
                                         ["generated", "ground truth"], words)
                mp4 = write_video(gif, interval_audio(args["path2data"], s, Path(name).stem))
                renders.append(mp4 or gif)
    html = write_html_index(run_dir, renders, run_dir.name)
    log(f"wrote {len(renders)} render(s) and {html}")
    return renders


def _read_pose(path: Path) -> np.ndarray:
    """``pose/normalize`` of a keypoints or PATS interval h5 (..., 104 values per frame); one line naming the file
    when it is missing, unreadable or of another shape."""
    import h5py

    from motionkit.errors import DataFormatError, DatasetMissingError
    if not path.is_file():
        raise DatasetMissingError(f"{path}: not found (a keypoints file's ground truth is read from -path2data)")
    try:
        with h5py.File(path, "r") as f:
            pose = np.asarray(f["pose/normalize"][()], np.float64)
    except (OSError, KeyError) as e:
        raise DataFormatError(f"{path}: no readable 'pose/normalize' ({str(e).splitlines()[0][:100]})") from None
    if pose.size % (2 * N_JOINTS) or not np.isfinite(pose).all():
        raise DataFormatError(f"{path}: 'pose/normalize' must be finite, 104 values per frame, got {pose.shape}")
    return pose


def _to_frames(pose: np.ndarray) -> np.ndarray:
    """(T, 2, 52) with the root set to 0 -> (T, 52, 2), y flipped for drawing."""
    p = np.array(pose, dtype=float)
    p[..., 0] = 0.0
    out = p.transpose(0, 2, 1)
    out[..., 1] *= -1
    return out
