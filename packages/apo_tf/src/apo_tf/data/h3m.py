"""Human3.6M in the converted ``data.hdf5`` layout of human_pose_util (apo_tf.md §3.1), reader and writer.

Layout (mm and pixels; J = 24 or 32 joints)::

    attrs: n_joints (24 in human_pose_util's file; optional)
    subjects/<S>/sequences/<Seq>/p3             (T, J, 3) world 3D, int32 or float; attrs: len (T)
    subjects/<S>/sequences/<Seq>/views/<cam>/p2 (T, J, 2) image 2D (pixels), int32 or float
    subjects/<S>/sequences/<Seq>/views/<cam>/p3 (T, J, 3) camera-frame 3D

Two joint sets are read: the 24 s24 joints that human_pose_util's converter keeps (``J = 24``, already in
``apo_s24`` order, everything int32: the file the original README tells users to build), and all 32 raw CDF
joints (``J = 32``, ``h36m_32`` order: the synthetic stand-in and :mod:`apo_tf.data.h3m_convert` with
``--joints 32``). :mod:`apo_tf.data.h3m_convert` writes either from the official CDF download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from apo_tf.data.atomic import write_hdf5
from motionkit.errors import DataFormatError, DatasetMissingError

TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
EVAL_SUBJECTS = ("S9", "S11")
FPS = 50
N_RAW = 32
MAX_ABS = 1e7  # mm or pixels: 10 km; anything larger is a broken file, not a pose
SKELETON_BY_JOINTS = {32: "h36m_32", 24: "apo_s24"}  # joint count of a file -> motionkit skeleton of its joints

# sequence base name -> report category (apo_tf.md §4.1)
CATEGORIES = {
    "Directions": "Direct", "Discussion": "Discuss", "Eating": "Eat", "Greeting": "Greet",
    "Phoning": "Phone", "Photo": "Photo", "TakingPhoto": "Photo", "Posing": "Pose", "Purchases": "Purchase",
    "Sitting": "Sit", "SittingDown": "SitDown", "Smoking": "Smoke", "Waiting": "Wait", "Walking": "Walk",
    "WalkDog": "WalkDog", "WalkingDog": "WalkDog", "WalkTogether": "WalkTogether",
}
CATEGORY_ORDER = ("Direct", "Discuss", "Eat", "Greet", "Phone", "Photo", "Pose", "Purchase", "Sit", "SitDown",
                  "Smoke", "Wait", "Walk", "WalkDog", "WalkTogether")


def category(sequence_name: str) -> str:
    """``"Phoning 2"`` -> ``"Phone"``; unknown names are their own category."""
    base = re.sub(r"\s*\d+$", "", sequence_name)
    return CATEGORIES.get(base, base)


@dataclass
class RawView:
    camera_id: str
    p2: np.ndarray  # (T, N, 2) pixels
    p3: np.ndarray  # (T, N, 3) camera-frame mm


@dataclass
class RawSequence:
    subject: str
    name: str
    p3: np.ndarray  # (T, N, 3) world mm
    views: dict[str, RawView]
    fps: float = FPS
    skeleton: str = "h36m_32"  # motionkit skeleton of the joint axis: h36m_32 | apo_s24 | eva s20


def _read_array(f: h5py.File, path: str, shape_tail: tuple[int, ...], fname: Path) -> np.ndarray:
    if path not in f:
        raise DataFormatError(f"{fname}: missing dataset {path}")
    a = f[path]
    if not isinstance(a, h5py.Dataset) or a.ndim != 1 + len(shape_tail) or tuple(a.shape[1:]) != shape_tail:
        shape = getattr(a, "shape", "a group")
        raise DataFormatError(f"{fname}: {path} has shape {shape}, expected (T, {', '.join(map(str, shape_tail))})")
    if not np.issubdtype(a.dtype, np.number):
        raise DataFormatError(f"{fname}: {path} has non-numeric dtype {a.dtype}")
    out = np.asarray(a[()], dtype=np.float64)
    bad = ~np.isfinite(out) | (np.abs(out) > MAX_ABS)
    if bad.any():
        t = int(np.argwhere(bad)[0][0])
        raise DataFormatError(f"{fname}: {path} frame {t} holds {float(out[bad][0])} (non-finite or beyond {MAX_ABS:g} "
                              "mm/pixels)")
    return out


def _file_joints(f: h5py.File, path: Path) -> int:
    """The joint count of a Human3.6M file: its ``n_joints`` attr, else the first ``p3``'s; must be 24 or 32."""
    n = f.attrs.get("n_joints")
    try:
        n = None if n is None else int(n)
    except (TypeError, ValueError):
        raise DataFormatError(f"{path}: attribute n_joints is {n!r}, expected 24 or 32") from None
    if n is None:
        first = next((f[f"subjects/{s}/sequences/{q}/p3"] for s in f["subjects"]
                      for q in f[f"subjects/{s}"].get("sequences", {})
                      if f"subjects/{s}/sequences/{q}/p3" in f), None)
        n = first.shape[-2] if first is not None and first.ndim == 3 else N_RAW
    return int(n) if int(n) in SKELETON_BY_JOINTS else N_RAW  # other counts: the shape check names the array


def read_sequences(path: str | Path, subjects: tuple[str, ...] | None = None,
                   n_joints: int | None = None, skeleton: str | None = None) -> list[RawSequence]:
    """Read every (subject, sequence) of a file in this layout; ``subjects`` filters. One-line errors on bad files.

    ``n_joints`` None: a Human3.6M file of 32 raw or 24 s24 joints (detected); otherwise that count, whose joints
    are ``skeleton``.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetMissingError(f"{path}: no such data file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataFormatError(f"{path}: not a readable hdf5 file ({e})") from None
    out = []
    with f:
        if not isinstance(f.get("subjects"), h5py.Group):
            raise DataFormatError(f"{path}: no 'subjects' group (expected subjects/<S>/sequences/<Seq>/...)")
        if n_joints is None:
            n_joints = _file_joints(f, path)
            skeleton = SKELETON_BY_JOINTS[n_joints]
        for s in sorted(f["subjects"]):
            if subjects is not None and s not in subjects:
                continue
            grp = f[f"subjects/{s}"]
            if not isinstance(grp, h5py.Group) or not isinstance(grp.get("sequences"), h5py.Group):
                raise DataFormatError(f"{path}: subjects/{s} has no 'sequences' group")
            for q in sorted(grp["sequences"]):
                base = f"subjects/{s}/sequences/{q}"
                if not isinstance(f[base], h5py.Group):
                    raise DataFormatError(f"{path}: {base} is not a group (expected p3 and views/<camera>/...)")
                p3 = _read_array(f, f"{base}/p3", (n_joints, 3), path)
                views = {}
                if "views" in f[base] and not isinstance(f[base]["views"], h5py.Group):
                    raise DataFormatError(f"{path}: {base}/views is not a group of cameras")
                for cam in sorted(f[base].get("views", {})):
                    p2 = _read_array(f, f"{base}/views/{cam}/p2", (n_joints, 2), path)
                    p3c = _read_array(f, f"{base}/views/{cam}/p3", (n_joints, 3), path)
                    if len(p2) != len(p3) or len(p3c) != len(p3):
                        raise DataFormatError(f"{path}: {base}/views/{cam} has {len(p2)} frames, p3 has {len(p3)}")
                    views[cam] = RawView(cam, p2, p3c)
                if not views:
                    raise DataFormatError(f"{path}: {base} has no views")
                fps = f[base].attrs.get("fps", FPS)
                try:
                    fps = float(fps)
                except (TypeError, ValueError):
                    raise DataFormatError(f"{path}: {base} attribute fps is {fps!r}, expected a positive frame "
                                          "rate") from None
                if not (np.isfinite(fps) and fps > 0):
                    raise DataFormatError(f"{path}: {base} attribute fps is {fps}, expected a positive frame rate")
                out.append(RawSequence(s, q, p3, views, fps, skeleton or "h36m_32"))
    if not out:
        raise DataFormatError(f"{path}: no sequences for subjects {subjects}")
    return out


def write_sequences(path: str | Path, sequences: list[RawSequence], int_mm: bool = True) -> None:
    """Write sequences in this layout (p3 as int32 mm when ``int_mm``, as the original converter truncates).

    Atomic (:mod:`apo_tf.data.atomic`): two processes that write the same file (e.g. a generated data set) never
    mix their bytes, a reader never sees half a file, and a failed write (a full disk) leaves nothing behind.
    """
    path = Path(path)

    def fill(f: h5py.File) -> None:
        kw = {"compression": "gzip", "compression_opts": 1}
        conv = (lambda a: a.astype(np.int32)) if int_mm else (lambda a: a.astype(np.float32))
        for seq in tqdm(sequences, desc=f"write {path.name}", unit="seq", disable=None):
            g = f.create_group(f"subjects/{seq.subject}/sequences/{seq.name}")
            g.attrs["len"] = len(seq.p3)
            g.attrs["fps"] = seq.fps
            g.create_dataset("p3", data=conv(seq.p3), **kw)
            for cam, v in seq.views.items():
                g.create_dataset(f"views/{cam}/p2", data=v.p2.astype(np.float32), **kw)
                g.create_dataset(f"views/{cam}/p3", data=conv(v.p3), **kw)

    write_hdf5(path, fill)
