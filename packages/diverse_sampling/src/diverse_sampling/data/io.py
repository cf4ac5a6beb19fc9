"""Readers and writers of the VideoPose3D motion files (``data_3d_h36m.npz``, ``data_3d_humaneva15.npz``).

Two layouts are accepted (notes 1.1 and quirk 11):

* legacy (what VideoPose3D writes and the real files are): ``np.savez_compressed(f, positions_3d=dict)`` where
  ``dict[subject][action] -> float32 (T, J, 3)`` in metres; the dict is a pickled 0-d object array, read with a
  restricted unpickler that allows numpy arrays only (``data/safepickle.py``);
* flat (pickle-free): one array per take under the key ``"<subject>/<action>"`` (subjects may contain "/",
  e.g. ``"Train/S1/Walking 1 chunk0"``; the action is the part after the last "/").

Every problem is reported as one line naming the file (``DataFormatError``) or, for a missing file, where to
get it (``DatasetMissingError``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from diverse_sampling.data.layout import DatasetLayout
from diverse_sampling.data.safepickle import load_npz_member, npz_keys
from motionkit.errors import DataFormatError, DatasetMissingError, MotionzooError

Takes = dict[str, dict[str, np.ndarray]]  # subject -> action -> (T, J, 3)


def data_file(root: str | Path, layout: DatasetLayout) -> Path:
    """Path of the raw motion file under ``root``; raises a one-line DatasetMissingError if it is absent."""
    path = Path(root) / layout.filename
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder; expected the {layout.name} npz file")
    if not path.is_file():
        raise DatasetMissingError(f"{path} not found: {layout.how_to_get}, then pass --data-root")
    return path


def read_positions(path: str | Path, n_joints: int | None = None) -> Takes:
    """Read a motion file in either layout and check every array: float, shape (T, n_joints, 3), finite."""
    path = Path(path)
    keys = npz_keys(path)  # one-line error for a non-zip file, before anything is unpickled
    if "positions_3d" in keys:
        takes = load_npz_member(path, "positions_3d")  # restricted unpickler: numpy arrays only
        if not isinstance(takes, dict):
            raise DataFormatError(f"{path}: 'positions_3d' must hold a dict subject -> action -> array")
    else:
        takes = {}
        for key in keys:
            if "/" not in key:
                raise DataFormatError(f"{path}: key {key!r} is neither 'positions_3d' nor '<subject>/<action>'")
            subject, action = key.rsplit("/", 1)
            takes.setdefault(subject, {})[action] = load_npz_member(path, key)
    if not takes:
        raise DataFormatError(f"{path}: contains no takes")
    out: Takes = {}
    for subject, actions in takes.items():
        if not isinstance(actions, dict):
            raise DataFormatError(f"{path}: subject {subject!r} must map action names to arrays")
        for action, arr in actions.items():
            arr = np.asarray(arr)
            where = f"{path}: take {subject}/{action}"
            if arr.dtype.kind != "f":
                raise DataFormatError(f"{where} has dtype {arr.dtype}, expected float positions")
            if arr.ndim != 3 or arr.shape[2] != 3 or (n_joints is not None and arr.shape[1] != n_joints):
                want = f"(T, {n_joints if n_joints is not None else 'J'}, 3)"
                raise DataFormatError(f"{where} has shape {arr.shape}, expected {want}")
            if not np.isfinite(arr).all():
                raise DataFormatError(f"{where} contains NaN or inf")
            out.setdefault(str(subject), {})[str(action)] = arr.astype(np.float32)
    return out


def write_positions(path: str | Path, takes: Takes, legacy: bool = True) -> Path:
    """Write ``takes`` in the legacy VideoPose3D layout (default) or the pickle-free flat layout (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if legacy:
        arrays = {"positions_3d": np.array(takes, dtype=object)}
    else:
        arrays = {f"{s}/{a}": arr for s, acts in takes.items() for a, arr in acts.items()}
    write_atomic(path, lambda f: np.savez_compressed(f, **arrays))
    return path


def write_atomic(path: str | Path, write) -> None:
    """``write(binary file)`` into a hidden temporary file beside ``path``, flushed, then renamed over ``path``: a
    reader sees the old file or the whole new one, never part of one; a failed write leaves no temporary file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a quota, a read-only folder: named after the file meant, not the temporary
        raise MotionzooError(f"{path}: cannot write ({exc.strerror or exc}; is the disk full?); an earlier "
                             "version of it, if any, is intact") from None
    finally:
        tmp.unlink(missing_ok=True)
