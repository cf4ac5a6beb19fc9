"""Readers and writers of the VideoPose3D motion files (``data_3d_h36m.npz``, ``data_3d_humaneva15.npz``).

Two layouts are accepted (notes 1.1 and quirk 11):

* legacy (what VideoPose3D writes and the real files are): ``np.savez_compressed(f, positions_3d=dict)`` where
  ``dict[subject][action] -> float32 (T, J, 3)`` in metres; reading needs ``allow_pickle`` because the dict is a
  pickled 0-d object array;
* flat (pickle-free): one array per take under the key ``"<subject>/<action>"`` (subjects may contain "/",
  e.g. ``"Train/S1/Walking 1 chunk0"``; the action is the part after the last "/").

Every problem is reported as one line naming the file (``DataFormatError``) or, for a missing file, where to
get it (``DatasetMissingError``).
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np

from diverse_sampling.data.layout import DatasetLayout
from motionkit.errors import DataFormatError, DatasetMissingError

Takes = dict[str, dict[str, np.ndarray]]  # subject -> action -> (T, J, 3)


def data_file(root: str | Path, layout: DatasetLayout) -> Path:
    """Path of the raw motion file under ``root``; raises a one-line DatasetMissingError if it is absent."""
    path = Path(root) / layout.filename
    if not path.is_file():
        raise DatasetMissingError(f"{path} not found: {layout.how_to_get}, then pass --data-root")
    return path


def read_positions(path: str | Path, n_joints: int | None = None) -> Takes:
    """Read a motion file in either layout and check every array: float, shape (T, n_joints, 3), finite."""
    path = Path(path)
    if not zipfile.is_zipfile(path):  # never hand a non-npz file to the unpickler
        raise DataFormatError(f"{path}: not a readable npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=True) as npz:
            keys = list(npz.keys())
            if "positions_3d" in keys:
                obj = npz["positions_3d"]
                takes = obj.item() if obj.dtype == object and obj.shape == () else None
                if not isinstance(takes, dict):
                    raise DataFormatError(f"{path}: 'positions_3d' must hold a dict subject -> action -> array")
            else:
                takes = {}
                for key in keys:
                    if "/" not in key:
                        raise DataFormatError(
                            f"{path}: key {key!r} is neither 'positions_3d' nor '<subject>/<action>'"
                        )
                    subject, action = key.rsplit("/", 1)
                    takes.setdefault(subject, {})[action] = npz[key]
    except DataFormatError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, pickle.UnpicklingError) as exc:
        raise DataFormatError(f"{path}: not a readable npz file ({type(exc).__name__}: {exc})") from None
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
    """Write ``takes`` in the legacy VideoPose3D layout (default) or the pickle-free flat layout."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    if legacy:
        np.savez_compressed(tmp, positions_3d=np.array(takes, dtype=object))
    else:
        np.savez_compressed(tmp, **{f"{s}/{a}": arr for s, acts in takes.items() for a, arr in acts.items()})
    tmp.replace(path)
    return path
