"""Fit your own 2-D keypoints: APO on a user's detections, without converting them to the Human3.6M layout.

Input: a ``.npy`` array (T, J, 2) in pixels, one sequence of frames, joints in ``apo_s24`` order (J = 24) or
``apo_s14`` order (J = 14: head, neck, r_shoulder, r_elbow, r_wrist, l_shoulder, l_elbow, l_wrist, r_hip,
r_knee, r_ankle, l_hip, l_knee, l_ankle). The camera: intrinsics ``focal`` (fx, fy) and ``center`` (cx, cy) in
pixels, by default fx = fy = 1.15 max(W, H) (Human3.6M-like) and the image centre; extrinsics: a level camera
0.9 m above the floor, 5 m from the person (the world is z-up with the floor at z = 0; only the pose's shape, its
scale-free position and the yaw are recovered, as in the paper). The objective and solver are those of
``infer`` (:mod:`apo_tf.infer`), with the inference config's weights and solver.

Output in the run folder ``fit-<file stem>``: ``poses3d.npy`` (T, J, 3) world metres, ``fit.json`` (scale, loss,
time), ``fit.gif`` (the 3-D poses).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from apo_tf.config import InferenceConfig
from apo_tf.data.cameras import Camera, look_at
from apo_tf.data.registry import Sequence
from apo_tf.infer import build_objective, find_gan_run, infer_sequence
from apo_tf.runs import start_run
from motionkit.errors import ConfigError, DataFormatError
from motionkit.skeletons import get_skeleton

SKELETON_BY_JOINTS = {24: "apo_s24", 14: "apo_s14"}


def default_camera(image_size: tuple[float, float] = (1000, 1000), focal: tuple[float, float] | None = None,
                   center: tuple[float, float] | None = None, distance: float = 5.0, height: float = 0.9) -> Camera:
    """The camera in the scaled units of the objective: R (3, 3), t (3,) in m; f, c (2,) in kilo-pixels."""
    W, H = image_size
    f = np.asarray(focal if focal is not None else (1.15 * max(W, H),) * 2, dtype=float)
    c = np.asarray(center if center is not None else (W / 2, H / 2), dtype=float)
    R, t = look_at(np.array([0.0, -distance, height]), np.array([0.0, 0.0, height]))
    return Camera(R, t, f / 1000.0, c / 1000.0)


MAX_PIXELS = 1e7  # a keypoint this far out is a broken file, not a detection
MAX_FPS = 10_000.0


def check_camera(image_size, focal, center, fps: float) -> None:
    """One line naming the flag whose value is not a finite number of the right sign (before any work)."""
    values = {"--image_size": (image_size, True), "--focal": (focal or (1.0, 1.0), True),
              "--center": (center or (0.0, 0.0), False), "--fps": ((fps,), True)}
    for flag, (vals, positive) in values.items():
        if not all(np.isfinite(v) and (v > 0 if positive else True) for v in vals):
            raise ConfigError(f"{flag} {' '.join(f'{v:g}' for v in vals)}: must be finite"
                              + (" and > 0" if positive else ""))
        low = 1.0 if flag != "--center" else -MAX_PIXELS  # a focal length or image side under a pixel is a typo
        if flag != "--fps" and not all(low <= v <= MAX_PIXELS for v in vals):
            raise ConfigError(f"{flag} {' '.join(f'{v:g}' for v in vals)}: must be within [{low:g}, {MAX_PIXELS:g}] "
                              "pixels")
    if not 0 < fps <= MAX_FPS:
        raise ConfigError(f"--fps {fps:g}: must be in (0, {MAX_FPS:g}] frames per second")


def read_keypoints(path: str | Path) -> np.ndarray:
    """(T, J, 2) float pixels from a .npy file; one-line errors."""
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(f"{path}: a folder, not a keypoint file (.npy)")
    if not path.is_file():
        raise DataFormatError(f"{path}: no such keypoint file")
    try:
        p2 = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataFormatError(f"{path}: not a .npy array ({e or 'empty file'})") from None
    if not isinstance(p2, np.ndarray):  # an .npz archive under a .npy name
        p2.close()
        raise DataFormatError(f"{path}: an .npz archive, not a .npy array; save the (T, J, 2) array with np.save")
    if p2.ndim != 3 or p2.shape[0] < 1 or p2.shape[2] != 2 or p2.shape[1] not in SKELETON_BY_JOINTS:
        raise DataFormatError(f"{path}: keypoints have shape {p2.shape}, expected (T >= 1, 24 or 14, 2) pixels")
    if not np.issubdtype(p2.dtype, np.number) or np.iscomplexobj(p2):
        raise DataFormatError(f"{path}: keypoints of dtype {p2.dtype}, expected real numbers (pixels)")
    p2 = p2.astype(np.float64)
    bad = ~np.isfinite(p2) | (np.abs(p2) > MAX_PIXELS)
    if bad.any():
        t, j = (int(i) for i in np.argwhere(bad)[0][:2])
        raise DataFormatError(f"{path}: frame {t} joint {j} is {p2[t, j].tolist()}, expected finite pixels within "
                              f"{MAX_PIXELS:g}")
    spread = np.ptp(p2, axis=1).max(axis=1)  # per frame: the larger side of the joints' bounding box
    if (spread < 1.0).any():
        t = int(np.argmax(spread < 1.0))
        raise DataFormatError(f"{path}: frame {t}: every joint within one pixel of {p2[t, 0].tolist()}, no pose to "
                              "fit (missing detections?)")
    return p2


def fit_keypoints(cfg: InferenceConfig, root: Path, keypoints: str | Path, image_size=(1000, 1000), focal=None,
                  center=None, fps: float = 10.0, run_name: str | None = None, resume: str | None = None,
                  verbose: bool = True) -> dict:
    """Fit one sequence of 2-D keypoints; returns ``infer_sequence``'s result plus ``run_dir``."""
    check_camera(image_size, focal, center, fps)
    p2 = read_keypoints(keypoints)
    skeleton = SKELETON_BY_JOINTS[p2.shape[1]]
    camera = default_camera(image_size, focal, center)
    gan_dir = find_gan_run(cfg, root)
    stem = Path(keypoints).stem
    with start_run(cfg, Path(root), run_name or f"fit-{stem}", resume, verbose) as run:
        obj = build_objective(cfg, gan_dir, skeleton)
        seq = Sequence(stem, "", stem, "", "user", fps, np.zeros(p2.shape[:2] + (3,), np.float32),
                       (p2 / 1000.0).astype(np.float32), camera, skeleton)
        res = infer_sequence(obj, seq, cfg.solver)
        np.save(run.path / "poses3d.npy", res["p3w"])
        info = {k: res[k] for k in ("scale", "loss", "consistency", "iterations", "seconds")}
        (run.path / "fit.json").write_text(json.dumps({"gan_run": str(gan_dir), **info}, indent=1))
        _render(run.path / "fit.gif", res["p3w"], skeleton, fps)
        if verbose:
            print(json.dumps({"run_dir": str(run.path), **info}), flush=True)
    return {**res, "run_dir": run.path}


def _render(path: Path, p3w: np.ndarray, skeleton: str, fps: float) -> None:
    from motionkit.viz import save_skeleton_gif

    try:
        save_skeleton_gif(path, [p3w], get_skeleton(skeleton), titles=["fit"], fps=max(1, min(int(fps), 20)))
    except Exception as e:  # a picture must never lose a finished fit
        print(f"warning: could not save {path}: {e}")
