"""Synthetic PATS stand-in, written in exactly the published layout and read back by ``pats.PatsData``.

Each speaker has a gesture style: arm amplitude, oscillation frequency, mean hand offset, handedness and a spectral
profile of the voice. A smooth random speech-energy envelope drives both the log-mel audio (envelope x profile)
and the arm/hand motion (wrist displacement proportional to the envelope, fingers curl with it), so style and the
audio -> motion dependence are learnable. Tokens are ids held for 2-8 frames (adjacent ids differ).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from motionkit.tempfiles import remove_stale_temporaries

from .cachefiles import write_failure
from .pats import AUDIO_FS, N_JOINTS, POSE_FS

DEFAULT_SPEAKERS = ("oliver", "maher", "chemistry", "ytch_prof", "lec_evol")


def rest_skeleton() -> np.ndarray:
    """(52, 2) rest pose relative to the neck, |R shoulder| = 167 px (image coords, y down)."""
    p = np.zeros((N_JOINTS, 2))
    p[1], p[2], p[3] = (-167, 0), (-200, 160), (-170, 310)          # R shoulder, elbow, wrist
    p[4], p[5], p[6] = (167, 0), (200, 160), (170, 310)             # L shoulder, elbow, wrist
    p[7], p[8], p[9] = (0, -110), (-25, -130), (25, -130)           # nose, eyes
    for root, wrist, side in ((10, 6, 1), (31, 3, -1)):
        p[root] = p[wrist]
        for f in range(5):
            ang = np.deg2rad(60 + 15 * f) if side > 0 else np.deg2rad(120 - 15 * f)
            for s in range(4):
                p[root + 1 + 4 * f + s] = p[root] + (s + 1) * 12 * np.array([np.cos(ang), np.sin(ang)])
    return p


def speaker_style(i: int) -> dict:
    r = np.random.default_rng(1000 + i)
    return {"amp": 40 + 35 * i, "freq": 0.6 + 0.5 * i, "offset": r.uniform(-60, 60, 2), "hand": (i % 3) / 2.0,
            "profile": np.exp(-0.5 * ((np.arange(64) - (10 + 9 * i)) / (6 + 2 * i)) ** 2)}


def envelope(n: int, fs: float, rng) -> np.ndarray:
    """Smooth non-negative speech-energy envelope in [0, 1] with pauses, n samples at fs."""
    t = np.arange(n) / fs
    e = np.zeros(n)
    for _ in range(4):
        e += rng.uniform(0.2, 1) * np.sin(2 * np.pi * rng.uniform(0.2, 2.0) * t + rng.uniform(0, 2 * np.pi))
    e = np.clip(e / 2, 0, None)
    return e / (e.max() + 1e-8)


def make_interval(spk_idx: int, seconds: float, rng) -> dict:
    st = speaker_style(spk_idx)
    T = int(seconds * POSE_FS)
    Ta = int(seconds * AUDIO_FS) + 8
    env_a = envelope(Ta, AUDIO_FS, rng)
    env_p = np.interp(np.arange(T) / POSE_FS, np.arange(Ta) / AUDIO_FS, env_a)
    t = np.arange(T) / POSE_FS
    phase = rng.uniform(0, 2 * np.pi)
    circ = np.stack([np.cos(2 * np.pi * st["freq"] * t + phase), np.sin(2 * np.pi * st["freq"] * t + phase)], -1)
    disp = st["amp"] * env_p[:, None] * circ + st["offset"] * env_p[:, None]          # (T, 2)
    rest = rest_skeleton()
    pose = np.repeat(rest[None], T, 0)
    weights = {3: 1 - st["hand"], 6: st["hand"]}                                      # R / L wrist share
    for wrist, elbow, root, w in ((3, 2, 31, weights[3]), (6, 5, 10, weights[6])):
        d = (0.3 + w) * disp
        pose[:, wrist] += d
        pose[:, elbow] += 0.5 * d
        curl = 1 - 0.3 * env_p[:, None]
        for j in range(root, root + 21):
            pose[:, j] = pose[:, wrist] + (rest[j] - rest[root]) * (curl if j != root else 1)
    pose += rng.normal(0, 1.5, pose.shape)
    pose[:, 0] = (640 + 20 * spk_idx, 300)                                           # neck: absolute image coords
    flat = np.concatenate([pose[..., 0], pose[..., 1]], 1).astype(np.float32)        # (T, 104)
    spec = env_a[:, None] * st["profile"][None] * 5 + 0.05 * rng.random((Ta, 64))
    audio = np.log(np.maximum(spec, 1e-6)).astype(np.float32)
    toks, words, f0 = [], [], 0
    prev = -1
    while f0 < T:
        d = int(rng.integers(2, 9))
        tid = int(rng.integers(1000, 3000))
        while tid == prev:
            tid = int(rng.integers(1000, 3000))
        toks += [tid] * d
        words.append((f"w{tid}", f0, min(f0 + d, T)))
        prev, f0 = tid, f0 + d
    return {"pose": flat, "audio": audio, "tokens": np.array(toks[:T], np.int64), "words": words}


def write_interval(path: Path, d: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f["pose/normalize"] = d["pose"]
        f["audio/log_mel_400"] = d["audio"]
        f["text/tokens"] = d["tokens"]
        if d.get("words"):
            dt = np.dtype([("Word", "S32"), ("start_frame", "i8"), ("end_frame", "i8")])
            f["text/meta"] = np.array([(w.encode(), s, e) for w, s, e in d["words"]], dtype=dt)


def make_synthetic(out_dir, speakers=DEFAULT_SPEAKERS, n_train=4, n_dev=1, n_test=1, seconds=(10.0, 16.0),
                   seed=0) -> Path:
    """Write a PATS-layout synthetic data set; returns out_dir."""
    out = Path(out_dir)
    rng = np.random.default_rng(seed)
    rows = []
    for si, spk in enumerate(speakers):
        for split, n in (("train", n_train), ("dev", n_dev), ("test", n_test)):
            for k in range(n):
                iid = f"{spk}_{split}_{k:03d}"
                dur = float(rng.uniform(*seconds))
                write_interval(out / "processed" / spk / f"{iid}.h5", make_interval(si, dur, rng))
                rows.append({"interval_id": iid, "speaker": spk, "dataset": split, "start_time": 0.0,
                             "end_time": dur, "delta_time": dur, "video_fn": f"{iid}.mp4", "video_link": ""})
    # one listed-but-missing interval, excluded through missing_intervals.h5 as in the published data
    rows.append({"interval_id": "missing_000", "speaker": speakers[0], "dataset": "train", "start_time": 0.0,
                 "end_time": 1.0, "delta_time": 1.0, "video_fn": "", "video_link": ""})
    pd.DataFrame(rows).to_csv(out / "cmu_intervals_df.csv", index=False)
    with h5py.File(out / "missing_intervals.h5", "w") as f:
        f["intervals"] = np.array([b"missing_000"])
    (out / "SOURCE.txt").write_text(SOURCE_LINE + "\n")
    return out


SOURCE_LINE = "Synthetic PATS-layout data written by `python -m cdiffgan.main make-synthetic`."


def is_synthetic(folder) -> bool:
    """True when ``folder`` holds a synthetic set written by :func:`make_synthetic` (its SOURCE.txt says so)."""
    source = Path(folder) / "SOURCE.txt"
    try:
        return source.is_file() and source.read_text(errors="replace").startswith(SOURCE_LINE)
    except OSError:
        return False


def write_synthetic(out_dir, speakers=DEFAULT_SPEAKERS, n_train=4, n_dev=1, n_test=1, seed=0,
                    replace=False) -> Path:
    """:func:`make_synthetic` written atomically: into a hidden sibling folder that is renamed to ``out_dir``
    when complete, so a killed or failed write never leaves a half set that later runs read. An existing
    synthetic set is replaced only with ``replace`` (the ``make-synthetic`` command); any other non-empty folder
    is refused (one line), never written into. Returns ``out_dir``."""
    from motionkit.errors import ConfigError
    out = Path(out_dir)
    bad = [s for s in speakers if not s or "/" in s or s.startswith(".")]
    if bad or len(set(speakers)) != len(speakers) or not speakers:
        raise ConfigError(f"--speakers {','.join(speakers)}: need distinct, non-empty names without '/'")
    if min(n_train, n_dev, n_test) < 1:
        raise ConfigError(f"--n_train/--n_dev/--n_test must be >= 1, got {n_train}/{n_dev}/{n_test}")
    occupied = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if occupied and not (replace and is_synthetic(out)):
        what = "a synthetic set (make-synthetic rewrites it)" if is_synthetic(out) else "not a synthetic set"
        raise ConfigError(f"{out}: exists and is {what}; not writing into it (choose another --out or delete it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        try:
            make_synthetic(tmp, tuple(speakers), n_train, n_dev, n_test, seed=seed)
        except OSError as e:                               # disk full, quota, read-only
            from motionkit.errors import MotionzooError
            reason = write_failure(e)
            raise MotionzooError(f"{out}: cannot write the synthetic set ({reason}; is the disk full?); nothing "
                                 "was kept") from None
        if occupied:                                       # replace: move the old set aside, then swap
            old = out.parent / f".{out.name}.{os.getpid()}.old.tmp"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            if out.is_dir():
                out.rmdir()                                # empty: the rename needs the name free
            try:
                tmp.rename(out)
            except OSError:
                if not is_synthetic(out):                  # else another process wrote the same set first
                    raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
