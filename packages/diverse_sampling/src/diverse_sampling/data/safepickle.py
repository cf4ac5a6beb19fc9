"""A restricted unpickler for the pickles inside the original's data files: numpy arrays and plain containers only.

The authors' files hold pickles in three places: the ``positions_3d`` dict of ``data_3d_*.npz`` (VideoPose3D),
the ``data_multimodal`` index dict of the GSPS/DS ``*_filtered_dlow.npz`` / ``*_index_filterd.npz`` files, and the
``*_valid_angle.p`` bounds. All three need only the numpy globals that rebuild an array, a dtype or a numpy scalar
(dict keys of the index are ``numpy.int64``). Anything else -- a class, a function, ``os.system`` -- is refused
with one line naming the file and the global, before it is called.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from motionkit.errors import DataFormatError

# (module, name) pairs a pickle of numpy arrays / scalars / dtypes may name; numpy 1.x spells the private module
# "numpy.core", numpy 2.x "numpy._core". "_codecs.encode" appears in protocol-2 pickles of array bytes.
ALLOWED_GLOBALS = frozenset(
    [(f"numpy.{core}.multiarray", name) for core in ("core", "_core") for name in ("_reconstruct", "scalar")]
    + [(f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")]
    + [("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")]
    + [("numpy.dtypes", f"{kind}DType") for kind in (
        "Float16", "Float32", "Float64", "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
        "Bool")]
)


class _ArraysOnly(pickle.Unpickler):
    def __init__(self, handle, where: str):
        super().__init__(handle)
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise DataFormatError(f"{self.where}: refused to unpickle {module}.{name} (only numpy arrays, numpy "
                                  "scalars and plain dicts/lists are allowed in this file)")
        return super().find_class(module, name)


def load_pickle(data: bytes, where: str) -> Any:
    """Unpickle ``data`` allowing only numpy arrays, scalars and dtypes (``where`` names the file in errors)."""
    try:
        return _ArraysOnly(io.BytesIO(data), where).load()
    except DataFormatError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DataFormatError(f"{where}: not a readable pickle ({type(exc).__name__}: {exc})") from None


def load_pickle_file(path: str | Path) -> Any:
    """A ``.p`` pickle file through :func:`load_pickle`; a missing file is a one-line error."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return load_pickle(data, str(path))


def npz_keys(path: str | Path) -> list[str]:
    """Array names of an ``.npz`` file (without the ``.npy`` suffix each member carries in the zip)."""
    path = Path(path)
    if not zipfile.is_zipfile(path):  # never hand a non-npz file to anything that unpickles
        raise DataFormatError(f"{path}: not a readable npz file (not a zip archive)")
    with zipfile.ZipFile(path) as zf:
        return [n[: -len(".npy")] if n.endswith(".npy") else n for n in zf.namelist()]


def load_npz_member(path: str | Path, key: str) -> Any:
    """One array of an ``.npz``; an object array (a pickled dict, as in ``positions_3d``) is unpickled restricted.

    Returns the ndarray, or for a 0-d object array the Python object inside it.
    """
    path = Path(path)
    where = f"{path} [{key}]"
    try:
        with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as member:
            raw = io.BytesIO(member.read())
    except KeyError:
        raise DataFormatError(f"{path}: has no array {key!r} (has {npz_keys(path)})") from None
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataFormatError(f"{path}: not a readable npz file ({type(exc).__name__}: {exc})") from None
    fmt = np.lib.format
    try:
        version = fmt.read_magic(raw)
        read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}[version]
        shape, _, dtype = read_header(raw)
    except (ValueError, KeyError) as exc:
        raise DataFormatError(f"{where}: not a .npy array ({exc})") from None
    if not dtype.hasobject:
        raw.seek(0)
        return np.lib.format.read_array(raw, allow_pickle=False)
    obj = load_pickle(raw.read(), where)
    if isinstance(obj, np.ndarray) and obj.shape == () and obj.dtype == object:
        return obj.item()
    if isinstance(obj, np.ndarray) and tuple(obj.shape) != tuple(shape):
        raise DataFormatError(f"{where}: header shape {shape} does not match the stored array {obj.shape}")
    return obj
