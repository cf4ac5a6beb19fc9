"""The original project's weight files and the names inside them (github ssiemonsma/Pose_Driven_Image_Generation).

The project released three files (``Data_and_Pretrained_Weights/Pretrained_Weights/``), each a plain
``torch.save(net.state_dict())`` (a dict of tensors):

- ``latest_net_G.pth`` (also ``<epoch>_net_G.pth``): the SPADE generator. Key names are NVlabs SPADE's, which are
  ours (``fc``, ``head_0.norm_0.mlp_shared.0``, ``up_3.conv_s.weight_orig`` ...): loaded as they are.
- ``latest_net_D.pth``: the multi-scale discriminator, ``discriminator_{i}.model{n}...``; the spectral-instance
  layers are ``Sequential(Sequential(SN conv, IN), LReLU)`` there, so their conv is ``model{n}.0.0``. Ours:
  ``scales.{i}.model{n}.0``.
- ``traditionally_trained_NADS_Net_with_PVT.pth`` (and the ``training_NADS_Net_weights.pth`` its train.py
  writes): NADS-Net with ``PVT.`` (the project's PVT: ``pos_embed_1..4`` on the 384 grid, plus an unused
  ``cls_token``, ``norm`` and 1000-class ``head``), ``FPN.``, ``keypoint_heatmap_branch.``, ``PAF_branch.`` and
  ``seatbelt_segmentation_branch.`` (``convs_on_P2..P5``, ``convs_on_feature_maps``, ``conv_on_feature_maps``,
  ``final_conv1/2``). It needs ``pvt_variant: project`` and ``fpn_wiring: original`` (configs/project_384.yaml).

Every file is read by :func:`read_weights` with torch's weights-only unpickler: it admits tensors, dicts and
plain values, plus the three NumPy names of the RNG state in our own checkpoints; any other class in a file is
refused with one line naming it (nothing in it runs).
"""

from __future__ import annotations

import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import torch

from motionkit.errors import CheckpointError
from motionkit.training.checkpoint import verify_integrity

# NumPy globals of np.random.get_state() inside our checkpoints (motionkit's Checkpointer); the project's files
# hold none.
_NUMPY_RNG = [np.ndarray, np.dtype, np.dtypes.UInt32DType]
_RECONSTRUCT = [(np._core.multiarray._reconstruct, name) for name in
                ("numpy._core.multiarray._reconstruct", "numpy.core.multiarray._reconstruct")]
_ALLOWED_NAMES = {"numpy._core.multiarray._reconstruct", "numpy.core.multiarray._reconstruct", "numpy.ndarray",
                  "numpy.dtype", "numpy.dtypes.UInt32DType"}


def check_weight_file(path: str | Path) -> Path:
    """Without loading it: ``path`` is a file (not a folder), its zip records pass their CRC check, and it names
    no class besides tensors and plain values; a one-line CheckpointError otherwise. Returns the path."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a weight file")
    if not path.is_file():
        raise CheckpointError(f"{path}: weight file not found")
    with open(path, "rb") as handle:
        zip_start = handle.read(4) == b"PK\x03\x04"
    if zip_start and not zipfile.is_zipfile(path):  # a zip without its central directory: cut short
        raise CheckpointError(f"{path}: damaged weight file (a zip archive without its end: truncated?); use an "
                              "intact copy")
    verify_integrity(path)  # zip CRC of every record: a damaged file is refused, never silently used
    try:
        unsafe = [g for g in torch.serialization.get_unsafe_globals_in_checkpoint(path) if g not in _ALLOWED_NAMES]
    except (RuntimeError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError):
        unsafe = []  # a legacy (pre-zip) file: the weights-only loader of read_weights still checks every global
    if unsafe:
        raise CheckpointError(f"{path}: refused: holds {unsafe[0]!r}, not a weight file (only tensors and dicts "
                              "are read)")
    return path


def read_weights(path: str | Path) -> dict:
    """Load a weight or checkpoint file with the restricted unpickler; one-line errors for anything else."""
    path = check_weight_file(path)
    try:
        with torch.serialization.safe_globals(_NUMPY_RNG + _RECONSTRUCT):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = found.group(1) if found else "an object that is not a tensor"
        raise CheckpointError(f"{path}: refused: holds {what!r}, not a weight file (only tensors and dicts "
                              "are read)") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(f"{path}: not a readable weight file ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a weight file (top level is {type(state).__name__})")
    bad = next(_non_finite(state), None)
    if bad is not None:  # legacy (pre-zip) files have no CRC: a damaged one shows here at best
        raise CheckpointError(f"{path}: {bad} holds non-finite values (a damaged file, or weights of a diverged "
                              "run); use an intact one")
    return state


def _non_finite(obj, where: str = ""):
    """Dotted names of the floating-point tensors in nested dicts/lists that hold NaN or inf."""
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point() and not bool(torch.isfinite(obj).all()):
            yield where
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if key != "rng":
                yield from _non_finite(value, f"{where}.{key}" if where else str(key))
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from _non_finite(value, f"{where}.{i}")


def is_project_state(state: dict) -> bool:
    """True for a plain state dict (the project's files); False for our checkpoints ({'modules': ...})."""
    return "modules" not in state and all(isinstance(v, torch.Tensor) for v in state.values())


def _strip_module(state: dict) -> dict:
    """DataParallel/DDP files prefix every key with ``module.``."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module."):]: v for k, v in state.items()}
    return state


# --- names: ours -> the project's ------------------------------------------------------------------------------

_BRANCHES = {"heat_branch": "keypoint_heatmap_branch", "paf_branch": "PAF_branch",
             "belt_branch": "seatbelt_segmentation_branch"}
_BELT_CONVS = {"conv1": "conv_on_feature_maps.0", "conv2": "final_conv1", "conv3": "final_conv2"}


def nads_name_to_project(name: str) -> str:
    """Our NADS-Net parameter name -> the project's (e.g. heat_branch.pyramid.levels.0.2.bias ->
    keypoint_heatmap_branch.convs_on_P2.2.bias)."""
    head, rest = name.split(".", 1)
    if head == "backbone":
        return "PVT." + re.sub(r"^pos_embed(\d)$", r"pos_embed_\1", rest)
    if head == "fpn":
        return "FPN." + rest
    branch = _BRANCHES[head]
    m = re.match(r"pyramid\.levels\.(\d)\.(.+)", rest)
    if m:
        return f"{branch}.convs_on_P{int(m.group(1)) + 2}.{m.group(2)}"
    if rest.startswith("head."):
        return f"{branch}.convs_on_feature_maps.{rest[len('head.'):]}"
    conv, param = rest.split(".", 1)
    return f"{branch}.{_BELT_CONVS[conv]}.{param}"


def discriminator_name_to_project(name: str) -> str:
    """scales.{i}.model{n}.0.X -> discriminator_{i}.model{n}.0[.0].X (the extra .0 for spectral-instance layers)."""
    m = re.fullmatch(r"scales\.(\d+)\.model(\d+)\.0\.(.+)", name)
    if not m:
        raise KeyError(name)
    i, n, param = m.groups()
    inner = ".0" if param.startswith(("weight_orig", "weight_u", "weight_v")) else ""
    return f"discriminator_{i}.model{n}.0{inner}.{param}"


_RENAMERS = {"nads": nads_name_to_project, "D": discriminator_name_to_project, "G": lambda name: name}
_PROJECT_ONLY = ("PVT.cls_token", "PVT.norm.", "PVT.head.")  # in the project's NADS-Net file, never used


def from_project(state: dict, module: torch.nn.Module, kind: str, path: str | Path = "weights") -> dict:
    """The project's state dict -> ours for ``module`` (kind 'nads' | 'D' | 'G'); one line on any mismatch."""
    state = _strip_module(state)
    rename = _RENAMERS[kind]
    ours = module.state_dict()
    out, missing = {}, []
    for name, ref in ours.items():
        key = rename(name)
        if key not in state:
            missing.append(key)
            continue
        if tuple(state[key].shape) != tuple(ref.shape):
            hint = " (NADS-Net files of the project need --pvt_variant project)" if "pos_embed" in key else ""
            raise CheckpointError(f"{path}: {key} has shape {tuple(state[key].shape)}, the configured model "
                                  f"expects {tuple(ref.shape)}{hint}")
        out[name] = state[key]
    if missing:
        raise CheckpointError(f"{path}: lacks {len(missing)} of the model's tensors, e.g. {missing[0]!r} (is it "
                              f"the project's {_KIND_FILES[kind]}?)")
    extra = [k for k in state if k not in {rename(n) for n in ours} and not k.startswith(_PROJECT_ONLY)]
    if extra:
        raise CheckpointError(f"{path}: has tensors the configured model lacks, e.g. {extra[0]!r}")
    return out


_KIND_FILES = {"nads": "traditionally_trained_NADS_Net_with_PVT.pth", "D": "latest_net_D.pth",
               "G": "latest_net_G.pth"}


def to_project(module: torch.nn.Module, kind: str) -> dict:
    """Our module's state dict under the project's names (NADS-Net also gets the PVT's unused cls token, norm
    and head, so the project's code loads the file strictly)."""
    rename = _RENAMERS[kind]
    out = {rename(k): v.detach().cpu().clone() for k, v in module.state_dict().items()}
    if kind == "nads":
        d = module.backbone.embed_dims[-1]
        out.update({"PVT.cls_token": torch.zeros(1, 1, d), "PVT.norm.weight": torch.ones(d),
                    "PVT.norm.bias": torch.zeros(d), "PVT.head.weight": torch.zeros(1000, d),
                    "PVT.head.bias": torch.zeros(1000)})
    return out


def save_project_weights(module: torch.nn.Module, kind: str, path: str | Path) -> Path:
    """Write ``module`` as the project wrote it (``torch.save(state_dict)``), e.g. for its own code to load."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(to_project(module, kind), path)
    return path
