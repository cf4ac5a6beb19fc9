"""Official Human3.6M download (CDF pose files) -> the ``data.hdf5`` layout that :mod:`apo_tf.data.h3m` reads.

Reads the pose CDFs with ``cdflib`` (pure Python; ``pip install "apo_tf[h3m]"``), in either folder layout:

- the official archives unpacked (``Poses_D2_Positions_S1.tgz`` ...)::

      <root>/S1/MyPoseFeatures/D3_Positions/Directions 1.cdf              Pose (1, T, 96) world mm
      <root>/S1/MyPoseFeatures/D2_Positions/Directions 1.54138969.cdf     Pose (1, T, 64) pixels
      <root>/S1/MyPoseFeatures/D3_Positions_mono/Directions 1.54138969.cdf Pose (1, T, 96) camera mm

- the layout the original's README asks for (``$H3M_PATH``): ``<root>/D3_positions/S1/Directions 1.cdf``,
  ``<root>/D2_positions/S1/<seq>.<cam>.cdf``, ``<root>/D3_positions_mono/S1/<seq>.<cam>.cdf``.

``joints=24`` (default) writes exactly what human_pose_util's converter writes: the 24 s24 joints in ``apo_s24``
order, every array int32 (values truncated toward zero), root attr ``n_joints`` and per-sequence attr ``len``, for
subjects S1, S5, S6, S7, S8, S9, S11. ``joints=32`` keeps all 32 raw joints as float32 (no truncation).
One difference: the original also cut each sequence to the frame count of its shortest video; we have no videos
to count and keep every CDF frame (the official CDFs and videos differ by a few frames at the end, if at all).
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

import h5py
import numpy as np

from apo_tf.data.h3m import MAX_ABS
from motionkit.errors import DataFormatError, DatasetMissingError
from motionkit.skeletons import get_skeleton

SUBJECTS = ("S1", "S5", "S6", "S7", "S8", "S9", "S11")
_CAMERA_FILE = re.compile(r"^(?P<seq>.+)\.(?P<cam>\d+)\.cdf$")


def _folders(root: Path, subject: str) -> tuple[Path, Path, Path] | None:
    """(D3, D2, D3_mono) folders of ``subject`` in either layout, or None when the subject is absent."""
    official = root / subject / "MyPoseFeatures"
    for d3, d2, mono in ((official / "D3_Positions", official / "D2_Positions", official / "D3_Positions_mono"),
                         (root / "D3_positions" / subject, root / "D2_positions" / subject,
                          root / "D3_positions_mono" / subject)):
        if d3.is_dir():
            return d3, d2, mono
    return None


def read_pose_cdf(path: Path, dim: int) -> np.ndarray:
    """The ``Pose`` variable of one CDF as (T, 32, dim) float64."""
    import cdflib

    if not path.exists():
        raise DatasetMissingError(f"{path}: missing CDF file")
    try:
        pose = np.asarray(cdflib.CDF(str(path)).varget("Pose"), dtype=np.float64)
    except Exception as e:  # cdflib raises several types for a damaged file
        raise DataFormatError(f"{path}: not a readable Human3.6M pose CDF ({e})") from None
    if pose.size % (32 * dim):
        raise DataFormatError(f"{path}: Pose has shape {pose.shape}, expected (1, T, {32 * dim})")
    pose = pose.reshape(-1, 32, dim)
    bad = ~np.isfinite(pose) | (np.abs(pose) > MAX_ABS)
    if bad.any():  # never converted: int32 storage would turn NaN into -2**31 mm
        t = int(np.argwhere(bad)[0][0])
        raise DataFormatError(f"{path}: frame {t} holds {float(pose[bad][0])} (non-finite or beyond {MAX_ABS:g} "
                              "mm/pixels)")
    return pose


def _select(p: np.ndarray, joints: int) -> np.ndarray:
    if joints == 32:
        return p.astype(np.float32)
    return get_skeleton("h36m_32").convert(p, "apo_s24").astype(np.int32)  # truncation, as h5py's cast did


def convert(root: str | Path, out: str | Path, joints: int = 24, subjects: tuple[str, ...] = SUBJECTS,
            verbose: bool = True) -> Path:
    """Write ``out`` from the CDFs under ``root``; returns ``out``. One-line errors for missing or bad files."""
    root, out = Path(root), Path(out)
    if joints not in (24, 32):
        raise DataFormatError(f"joints {joints}: expected 24 (human_pose_util's file) or 32 (all raw joints)")
    found = {s: _folders(root, s) for s in subjects}
    if not any(found.values()):
        raise DatasetMissingError(f"{root}: no Human3.6M pose CDFs (expected <root>/S1/MyPoseFeatures/D3_Positions/"
                                  "*.cdf or <root>/D3_positions/S1/*.cdf)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:  # a failed or interrupted conversion leaves neither a half file at ``out`` nor its temporary file
        with h5py.File(tmp, "w") as f:
            f.attrs["n_joints"] = joints
            for subject, dirs in found.items():
                if dirs is None:
                    continue
                for seq_file in sorted(dirs[0].glob("*.cdf")):
                    _convert_sequence(f, subject, seq_file, dirs, joints)
                    if verbose:
                        print(f"converted {subject}/{seq_file.stem}", flush=True)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _convert_sequence(f: h5py.File, subject: str, seq_file: Path, dirs: tuple[Path, Path, Path],
                      joints: int) -> None:
    """One sequence: world p3, then p2 and camera p3 of every camera with a D2 file."""
    seq = seq_file.stem
    p3 = read_pose_cdf(seq_file, 3)
    g = f.create_group(f"subjects/{subject}/sequences/{seq}")
    g.create_dataset("p3", data=_select(p3, joints))
    g.attrs["len"] = len(p3)
    for cam_file in sorted(dirs[1].glob(f"{glob.escape(seq)}.*.cdf")):
        m = _CAMERA_FILE.match(cam_file.name)
        if m is None or m["seq"] != seq:
            continue
        p2 = read_pose_cdf(cam_file, 2)
        p3c = read_pose_cdf(dirs[2] / cam_file.name, 3)
        if not len(p2) == len(p3c) == len(p3):
            raise DataFormatError(f"{cam_file}: {len(p2)} frames, {seq_file.name} has {len(p3)} and the mono "
                                  f"file {len(p3c)}")
        g.create_dataset(f"views/{m['cam']}/p2", data=_select(p2, joints))
        g.create_dataset(f"views/{m['cam']}/p3", data=_select(p3c, joints))
    if "views" not in g:
        raise DatasetMissingError(f"{dirs[1]}: no D2 files {seq}.<camera>.cdf for {seq_file}")
