"""The original code's files (Droliven/diverse_sampling): its released ``.pth`` checkpoints and its folder layout.

Released files (the authors' "Diverse Sampling Resources" download) ::

    ckpt/pretrained/{h36m,humaneva}_{t1,t2}.pth    {"epoch", "lr", "curr_err", "model": state_dict, "optimizer"}
    ckpt/classifier/{h36m,humaneva}_classifier.pth {"model": state_dict, ...}
    dataset/data_3d_h36m.npz ...                   read by data/io.py and data/authors.py

The state dicts use the original's parameter names and one different orientation:

* GCN layers are ``gcn``/``gcb1``/``gcb2`` (ours ``gc``/``b1``/``b2``); the CVAE's stacks are ``enc``/``dec``, its
  output GraphConv is the last element of ``dec`` (ours ``out``); the sampler's base head is ``bases_p1``, its
  N_gamma MLPs ``mean_p1``/``logvar_p1`` (ours ``n_beta``, ``mean_head``, ``logvar_head``); the classifier's GRU and
  linears are ``recurrent``/``linear1``/``linear2`` (ours ``gru``/``feat``/``cls``).
* The original GraphConv mixes nodes with ``(X W)^T att`` (``gcn_layers.py``: out[j] = sum_i att[i, j] x_i), ours
  with ``att (X W)``: every ``att`` matrix is transposed on the way in and out.

``.pth`` files (theirs and ours) are read with torch's restricted unpickler (``weights_only``), allowing in addition
only numpy's array/scalar constructors (the original stores ``curr_err`` as a numpy scalar, ours the numpy RNG
state); anything else in such a file is refused with one line, and so is a file whose zip records fail their
CRC-32 check (a flipped or cut byte).
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from motionkit.errors import CheckpointError
from motionkit.training.checkpoint import verify_integrity

Kind = Literal["cvae", "sampler", "classifier"]

# our first path component -> the original's, per model kind
_TOP = {
    "cvae": {"encoder": "enc", "decoder": "dec"},
    "sampler": {"n_beta": "bases_p1", "mean_head": "mean_p1", "logvar_head": "logvar_p1"},
    "classifier": {"gru": "recurrent", "feat": "linear1", "cls": "linear2"},
}
_INNER = {"gc": "gcn", "b1": "gcb1", "b2": "gcb2"}  # inside the GCN stacks
_KIND_MARKERS = {"cvae": "enc.0.gcn.weight", "sampler": "condition_enc.0.gcn.weight", "classifier": "linear1.weight"}

# numpy globals a .pth may hold besides tensors: the released files' curr_err is a numpy float32 scalar, our own
# checkpoints carry numpy's RNG state (a uint32 array). Array/scalar/dtype constructors only.
try:  # numpy 2 moved these; torch's allowlist needs the objects themselves
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
    from numpy._core.multiarray import scalar as _np_scalar
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct as _np_reconstruct
    from numpy.core.multiarray import scalar as _np_scalar
_NUMPY_GLOBALS = [np.dtype, np.ndarray, _np_reconstruct, _np_scalar,
                  *[getattr(np.dtypes, f"{k}DType") for k in ("Float32", "Float64", "Int64", "UInt32")]]


def original_key(ours: str, kind: Kind, n_dec: int = 0) -> str:
    """Our parameter name -> the original's. ``n_dec``: modules in our CVAE ``decoder`` (``out`` follows them)."""
    parts = ours.split(".")
    if kind == "cvae" and parts[0] == "out":
        return ".".join(["dec", str(n_dec), *parts[1:]])
    parts[0] = _TOP[kind].get(parts[0], parts[0])
    if kind != "classifier":
        parts = [_INNER.get(p, p) for p in parts]
    return ".".join(parts)


def _n_dec(state: dict[str, Any]) -> int:
    return 1 + max((int(k.split(".")[1]) for k in state if k.startswith("decoder.")), default=-1)


def to_original_state(state: dict[str, torch.Tensor], kind: Kind) -> dict[str, torch.Tensor]:
    """Our state dict -> the original's names, ``att`` transposed (what the authors' ``"model"`` entry holds)."""
    n_dec = _n_dec(state) if kind == "cvae" else 0
    out = {}
    for key, value in state.items():
        out[original_key(key, kind, n_dec)] = value.t().contiguous() if key.endswith(".att") else value
    return out


def from_original_state(original: dict[str, Any], template: dict[str, torch.Tensor], kind: Kind,
                        where: str) -> dict[str, torch.Tensor]:
    """The original's state dict -> ours, with the key set of ``template`` (our model's ``state_dict()``).

    A missing, extra or non-tensor entry is a one-line CheckpointError naming the file ``where``.
    """
    n_dec = _n_dec(template) if kind == "cvae" else 0
    names = {original_key(k, kind, n_dec): k for k in template}
    missing = sorted(set(names) - set(original))
    extra = sorted(set(original) - set(names))
    if missing or extra:
        detail = "; ".join(s for s in (f"missing {missing[:3]}" if missing else "",
                                       f"unexpected {extra[:3]}" if extra else "") if s)
        raise CheckpointError(f"{where}: not an original {kind} state dict for this config ({detail})")
    out = {}
    for orig_key, key in names.items():
        value = original[orig_key]
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{where}: entry {orig_key!r} is a {type(value).__name__}, not a tensor")
        out[key] = value.t().contiguous() if key.endswith(".att") else value
    return out


def read_pth(path: str | Path) -> dict[str, Any]:
    """A ``.pth``/``.pt`` file through torch's restricted unpickler (tensors, containers, numbers, numpy arrays).

    A missing, unreadable or foreign file (one holding any other class) is a one-line CheckpointError. The last
    file read is kept (keyed by path, size and modification time): a job asks for a released t2 file's kind, its
    format and its weights, and the sampler is 85 MB. Callers must not modify the returned dict.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _LAST_READ.get("key") != key:
        _LAST_READ.clear()
        _LAST_READ.update(key=key, state=_read_pth(path))
    return _LAST_READ["state"]


_LAST_READ: dict[str, Any] = {}


def _read_pth(path: Path) -> dict[str, Any]:
    verify_integrity(path)  # a flipped byte in a tensor's record would otherwise load silently
    try:
        with torch.serialization.safe_globals(_NUMPY_GLOBALS):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types here; all mean "not a file we accept"
        raise CheckpointError(f"{path}: refused: {_why_refused(path, exc)}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a checkpoint (top level is {type(state).__name__}, not a dict)")
    return state


def _why_refused(path: Path, exc: Exception) -> str:
    """One line for a failed restricted load: the offending globals when torch can list them."""
    if not zipfile.is_zipfile(path):  # (a zip cut before its directory is caught by verify_integrity)
        return "not a torch checkpoint (not a zip archive)"
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:  # noqa: BLE001 - not even a torch zip file
        unsafe = []
    allowed = {f"{g.__module__}.{g.__qualname__}" for g in _NUMPY_GLOBALS}
    unsafe = [g for g in unsafe if g not in allowed]
    if unsafe:
        return f"it holds {', '.join(unsafe[:3])} (only tensors, numbers and containers are loaded)"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = first.split(". This is an internal miniz error")[0]
    return f"not a readable torch file ({first[:140]})"


def is_original(state: dict[str, Any]) -> bool:
    """True for the authors' layout (``"model"`` at the top), False for ours (``"modules"``)."""
    return "model" in state and "modules" not in state


def original_kind(state: dict[str, Any], where: str) -> Kind:
    """Which model an original ``"model"`` state dict holds, from its parameter names."""
    model = state.get("model")
    if not isinstance(model, dict):
        raise CheckpointError(f"{where}: no 'model' state dict (has {sorted(state)[:6]})")
    for kind, marker in _KIND_MARKERS.items():
        if marker in model:
            return kind  # type: ignore[return-value]
    raise CheckpointError(f"{where}: 'model' is neither the original's CVAE, sampler nor classifier "
                          f"(first keys {list(model)[:3]})")


def write_original(path: str | Path, state: dict[str, torch.Tensor], kind: Kind, epoch: int = 0,
                   lr: float = 1e-3, curr_err: float = 0.0) -> Path:
    """Write ``state`` (ours) as the authors' ``.pth`` layout: ``{"epoch", "lr", "curr_err", "model"}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {"epoch": int(epoch), "lr": float(lr), "curr_err": np.float32(curr_err),
            "model": to_original_state(state, kind)}
    if kind == "classifier":
        blob = {"model": blob["model"]}
    torch.save(blob, path)
    return path


# ------------------------------------------------------------------------------------------ folder layout ----
ORIGINAL_DATA_DIR = Path("dataset")  # the original's ./dataset (relative to the working directory)
ORIGINAL_PRETRAINED_DIR = Path("ckpt/pretrained")
ORIGINAL_CLASSIFIER_DIR = Path("ckpt/classifier")

_EXP = re.compile(r"^(h36m|humaneva)_(t1|t2)$")


def pretrained_path(exp_name: str) -> Path:
    """``./ckpt/pretrained/<exp_name>.pth``: what the original's ``--is_load=1`` restores."""
    return ORIGINAL_PRETRAINED_DIR / f"{exp_name}.pth"


def released_t1_beside(model_path: str | Path, dataset: str) -> Path:
    """The released CVAE a released t2 file goes with: ``<dataset>_t1.pth`` in the same folder."""
    return Path(model_path).parent / f"{dataset}_t1.pth"


def released_classifier_path(dataset: str) -> Path:
    return ORIGINAL_CLASSIFIER_DIR / f"{dataset}_classifier.pth"


def paper_exp(exp_name: str) -> tuple[str, str] | None:
    """``"h36m_t2"`` -> ``("h36m", "t2")``; None for our own config names."""
    m = _EXP.match(exp_name)
    return (m.group(1), m.group(2)) if m else None
