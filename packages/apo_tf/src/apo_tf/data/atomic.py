"""Atomic HDF5 writes: a file is built in memory, then written beside its target and renamed over it.

HDF5 itself does not survive a failed write: on a full disk h5py raises, then fails again while closing, and the
process can abort at exit ("double free or corruption"). Here HDF5 only ever writes to memory; the bytes go to
``.<name>.<pid>.tmp`` with plain file I/O (a full disk is a clean ``OSError`` naming the file), are synced, and
replace the target in one rename. So a reader never sees half a file, two processes writing the same file never mix
bytes, a failed write leaves the previous file and no temporary one, and a killed writer's ``.*.tmp`` is removed
by the next run in that folder (motionkit's ``remove_stale_temporaries``, and its run-folder lock).
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import h5py

from motionkit.errors import DataFormatError
from motionkit.tempfiles import remove_stale_temporaries


def write_hdf5(path: str | Path, fill: Callable[[h5py.File], None], update: bool = False) -> Path:
    """Write ``path`` atomically with the contents ``fill(f)`` puts into an open :class:`h5py.File`; with
    ``update``, ``f`` starts as a copy of the existing file (if any). Returns ``path``."""
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(f"{path}: a folder, not a file to write to")
    if path.parent.exists() and not path.parent.is_dir():
        raise DataFormatError(f"{path.parent}: not a folder, cannot write {path.name} there")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    buffer = io.BytesIO(path.read_bytes() if update and path.exists() else b"")
    with h5py.File(buffer, "a") as f:
        fill(f)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as e:  # a full disk: name the file (a failed write() names none) and what is kept
        kept = "the previous file is unchanged" if path.exists() else "nothing was written"
        raise OSError(e.errno, f"cannot write it ({e.strerror or e}); {kept}", str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
