"""The original DeepNAG's checkpoint files (github Maghoumi/DeepNAG), read without running its code.

The original saves one `torch.save` dict per checkpoint (`checkpoint-best.tar`, `checkpoint-<epoch>.tar`):

    {"model": "DeepNAG" | "DeepGAN",
     "generator": state dict of DataParallel(DeepNAGNet):  module.gru1.weight_ih_l0 ... module.gru3.*,
                  module.fc.0.weight (F, 512), module.fc.0.bias (F,)
     "discriminator": (DeepGAN) state dict of DataParallel(critic) with JitGRU layers:
                  module.gru1.layers.0.cell.weight_ih ... module.gru3.*, module.fc.weight (1, 128), module.fc.bias
     "optimizer": Adam state dict (DeepGAN: {"g": ..., "d": ...}),
     "normalizer": a pickled `dataloader.utils.MinMaxNormalizer` (attributes min, max: float32 (1, F) arrays,
                   factors_computed: bool)}

Nothing in the file says which data set or class list it was trained on: F = 2 means $1-GDS (16 classes),
F = 63 means JK2017 Kinect (14 classes), unless the user names the data set. The sequence length is not stored
either (the original's default, 64, is used; `--resample-n` overrides).

The pickle is read by `read_checkpoint`, an unpickler that resolves only the globals such files hold (tensor
rebuilding, OrderedDict, numpy arrays, and the normaliser mapped onto a plain stand-in class); any other global
is refused with one line and no code from the file runs. Our own checkpoints hold the same kinds of objects
plus plain Python values, so they are read the same way.
"""

from __future__ import annotations

import _codecs
import collections
import pickle
import re
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deepnag.config import Config
from deepnag.data import DOLLAR_CLASSES, JK2017_CLASSES, MinMaxNormalizer
from motionkit.config import config_to_dict
from motionkit.errors import CheckpointError

# ------------------------------------------------------------------------------------ restricted unpickling


class OriginalMinMaxNormalizer:
    """Stand-in for the original's `dataloader.utils.MinMaxNormalizer`: holds `min`, `max` (1, F) arrays."""

    def __setstate__(self, state: dict) -> None:
        self.min = np.asarray(state.get("min"), dtype=np.float64)
        self.max = np.asarray(state.get("max"), dtype=np.float64)
        self.factors_computed = bool(state.get("factors_computed", True))

    def to_ours(self) -> MinMaxNormalizer:
        """The same map x_hat = 2 (x - min) / (max - min) - 1 as our MinMaxNormalizer (per feature)."""
        return MinMaxNormalizer(self.min.reshape(-1), self.max.reshape(-1))


def _numpy_global(name: str):
    """numpy's array-rebuilding functions (numpy 2 moved numpy.core to numpy._core; pickles name either)."""
    core = np._core if hasattr(np, "_core") else np.core
    return getattr(core.multiarray, name)


# (module, name) -> the object it stands for. Storage types (torch.FloatStorage ...) are resolved by torch.load.
_ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _codecs.encode,
    ("dataloader.utils", "MinMaxNormalizer"): OriginalMinMaxNormalizer,
}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = _numpy_global("_reconstruct")
    _ALLOWED[(_mod, "scalar")] = _numpy_global("scalar")
for _dtype in ("Float32DType", "Float64DType", "UInt32DType", "Int64DType", "BoolDType"):
    if hasattr(np, "dtypes") and hasattr(np.dtypes, _dtype):
        _ALLOWED[("numpy.dtypes", _dtype)] = getattr(np.dtypes, _dtype)


class RefusedGlobal(pickle.UnpicklingError):
    """The file names a class or function outside the allow-list."""

    def __init__(self, module: str, name: str):
        super().__init__(f"{module}.{name}")
        self.qualified = f"{module}.{name}"


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only the `_ALLOWED` globals (no other code can run)."""

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None


def _restricted_load(file, **kwargs):
    return RestrictedUnpickler(file, **kwargs).load()


# what torch.load(pickle_module=...) needs: an Unpickler class (subclassed by torch for storages) and load()
restricted_pickle = types.ModuleType("deepnag_restricted_pickle")
restricted_pickle.Unpickler = RestrictedUnpickler
restricted_pickle.load = _restricted_load
restricted_pickle.UnpicklingError = pickle.UnpicklingError


def read_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """A checkpoint file (the original's or ours) -> its top-level dict, through the restricted unpickler.

    A missing or unreadable file, or one that names any other class, is a one-line CheckpointError.
    """
    from motionkit.training.checkpoint import verify_integrity

    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    verify_integrity(path)  # every record's CRC-32: a bit-flipped or truncated file is refused here
    try:
        state = torch.load(path, map_location=map_location, pickle_module=restricted_pickle, weights_only=False)
    except RefusedGlobal as exc:
        raise CheckpointError(
            f"{path}: refused to load: the file asks to unpickle {exc.qualified}, which neither an original "
            "DeepNAG checkpoint nor ours holds (no code from the file was run)") from None
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError, AttributeError,
            TypeError, IndexError, KeyError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:120]
        if "cuda" in reason.lower() and "device" in reason.lower():
            raise CheckpointError(f"{path}: holds CUDA tensors and this machine has no CUDA") from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a checkpoint (top level is {type(state).__name__}, expected a dict)")
    return state


# ---------------------------------------------------------------------------------------- the original's keys

ORIGINAL_KEYS = ("model", "generator", "normalizer")


def is_original(state: dict) -> bool:
    """True for the original's checkpoint dict ({'model', 'generator', 'optimizer', 'normalizer'})."""
    return all(k in state for k in ORIGINAL_KEYS) and "modules" not in state


def _strip_module(state_dict: dict) -> dict:
    """DataParallel's `module.` prefix off every key."""
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state_dict.items()}


def original_generator_to_ours(state_dict: dict, path: str | Path = "checkpoint") -> dict:
    """module.gru<k>.<p> -> grus.<k-1>.<p>; module.fc.0.<p> -> out.<p> (our DeepNAGNet's names)."""
    out = {}
    for key, value in _strip_module(state_dict).items():
        m = re.fullmatch(r"gru(\d+)\.(\w+)", key)
        if m:
            out[f"grus.{int(m.group(1)) - 1}.{m.group(2)}"] = value
        elif key.startswith("fc.0."):
            out["out." + key[len("fc.0."):]] = value
        else:
            raise CheckpointError(f"{path}: unexpected generator key {key!r} for the original's DeepNAGNet")
    return out


def original_critic_to_ours(state_dict: dict, path: str | Path = "checkpoint") -> dict:
    """module.gru<k>.layers.0.cell.<p> -> grus.<k-1>.<p>_l0 (JitGRU -> our GRU names); module.fc.* -> out.*."""
    out = {}
    for key, value in _strip_module(state_dict).items():
        m = re.fullmatch(r"gru(\d+)\.layers\.0\.cell\.(weight_ih|weight_hh|bias_ih|bias_hh)", key)
        if m:
            out[f"grus.{int(m.group(1)) - 1}.{m.group(2)}_l0"] = value
        elif key.startswith("fc."):
            out["out." + key[len("fc."):]] = value
        else:
            raise CheckpointError(f"{path}: unexpected critic key {key!r} for the original's DeepGAN critic")
    return out


# ------------------------------------------------------------------------------------ original -> our format

# the original's two data sets: feature count -> (our data set name, class list in the original's index order)
ORIGINAL_DATASETS = {2: ("dollar-gds", DOLLAR_CLASSES), 63: ("jk2017-kinect", JK2017_CLASSES)}
CLASS_LISTS = {"dollar-gds": DOLLAR_CLASSES, "synthetic-pen": DOLLAR_CLASSES,
               "jk2017-kinect": JK2017_CLASSES, "synthetic-kinect": JK2017_CLASSES}


@dataclass
class ConvertedCheckpoint:
    """An original checkpoint in our terms: generator (and critic) state dicts with our key names."""

    model: str
    generator: dict
    critic: dict | None
    normalizer: MinMaxNormalizer
    dataset: str
    class_names: list[str]
    latent_dim: int
    generator_hidden: tuple[int, ...]
    critic_hidden: tuple[int, ...] | None


def convert_original(state: dict, path: str | Path = "checkpoint", dataset: str | None = None) -> ConvertedCheckpoint:
    """The original's checkpoint dict -> ConvertedCheckpoint (sizes read from the weight shapes).

    dataset: our data set name when the user gives one; otherwise inferred from the feature count F.
    """
    model = state.get("model")
    if model not in ("DeepNAG", "DeepGAN"):
        raise CheckpointError(f"{path}: 'model' is {model!r}, expected 'DeepNAG' or 'DeepGAN'")
    if not isinstance(state["normalizer"], OriginalMinMaxNormalizer):
        raise CheckpointError(f"{path}: 'normalizer' is a {type(state['normalizer']).__name__}, expected the "
                              "original's dataloader.utils.MinMaxNormalizer")
    gen = original_generator_to_ours(state["generator"], path)
    n_grus = len({k.split(".")[1] for k in gen if k.startswith("grus.")})
    try:
        hidden = tuple(int(gen[f"grus.{i}.weight_hh_l0"].shape[1]) for i in range(n_grus))
        n_features, n_inputs = int(gen["out.weight"].shape[0]), int(gen["grus.0.weight_ih_l0"].shape[1])
    except KeyError as exc:
        raise CheckpointError(f"{path}: generator weights lack {exc.args[0]!r}") from None
    normalizer = state["normalizer"].to_ours()
    if normalizer.lo.shape != (n_features,):
        raise CheckpointError(f"{path}: the normaliser has {normalizer.lo.size} features, the generator {n_features}")
    if dataset is None:
        if n_features not in ORIGINAL_DATASETS:
            raise CheckpointError(f"{path}: {n_features} features matches neither $1-GDS (2) nor JK2017 (63); "
                                  "name the data set with --dataset")
        dataset = ORIGINAL_DATASETS[n_features][0]
    classes = list(CLASS_LISTS[dataset])
    latent_dim = n_inputs - len(classes)
    if latent_dim < 1:
        raise CheckpointError(f"{path}: generator input size {n_inputs} is too small for the {len(classes)} "
                              f"classes of {dataset}")
    critic, critic_hidden = None, None
    if model == "DeepGAN" and "discriminator" in state:
        critic = original_critic_to_ours(state["discriminator"], path)
        critic_hidden = tuple(int(critic[f"grus.{i}.weight_hh_l0"].shape[1])
                              for i in range(len({k.split(".")[1] for k in critic if k.startswith("grus.")})))
    return ConvertedCheckpoint(model, gen, critic, normalizer, dataset, classes, latent_dim, hidden, critic_hidden)


def to_our_state(conv: ConvertedCheckpoint, resample_n: int = 64, note: str = "") -> dict:
    """Our checkpoint layout ({step, modules, extra}) for a converted original checkpoint (no optimiser state)."""
    kind = "pen" if conv.normalizer.lo.size == 2 else "kinect"
    cfg = Config(model=conv.model, dataset=conv.dataset, latent_dim=conv.latent_dim, resample_n=resample_n,
                 generator_hidden=conv.generator_hidden, critic_hidden=conv.critic_hidden or Config.critic_hidden)
    modules = {"generator": conv.generator}
    if conv.critic is not None:
        modules["critic"] = conv.critic
    extra = {"config": config_to_dict(cfg), "class_names": conv.class_names, "kind": kind,
             "n_features": int(conv.normalizer.lo.size), "normalizer": conv.normalizer.state_dict(),
             "note": note or "converted from the original DeepNAG's checkpoint format"}
    return {"step": 0, "modules": modules, "extra": extra}


# ------------------------------------------------------------------------- configs stored in checkpoints

# what a user may change when using a checkpoint (the rest comes from the checkpoint)
USE_OVERRIDES = ("dataset", "data_root", "datapath", "log_dir", "run_name", "eval_seed", "eval_samples_per_class",
                 "seed", "resample_n", "synthetic_subjects", "synthetic_repetitions", "synthetic_seed",
                 "dollar_speed", "gif_classes", "device")


# settings of the generator itself: evaluate/sample refuse a flag that differs from the checkpoint's value
FIXED_BY_WEIGHTS = ("model", "latent_dim", "generator_hidden")


def _plain(value):
    return list(value) if isinstance(value, tuple | list) else value


def config_from_checkpoint(stored: dict, overrides: dict, path: str | Path = "checkpoint") -> Config:
    """The Config of a checkpoint's saved config dict, with the user's overrides for data and evaluation.

    Our files written before beta0/beta1 took the original's names stored Adam's betas as beta1/beta2; keys
    this version does not know are dropped (they cannot change what the generator computes). A stored value
    this version refuses is one line naming the checkpoint `path`; a refused override names its flag.
    """
    from dataclasses import fields

    from motionkit.config import load_config
    from motionkit.errors import ConfigError

    stored = dict(stored)
    if "beta2" in stored:
        stored["beta0"], stored["beta1"] = stored.pop("beta1"), stored.pop("beta2")
    known = {f.name for f in fields(Config)}
    stored = {k: v for k, v in stored.items() if k in known}
    stored["log_dir"] = "runs"  # where the checkpoint was trained is irrelevant here
    stored["use_tensorboard"] = False  # so is its TensorBoard writer (tensorboardX need not be installed)
    given = {key: overrides[key] for key in USE_OVERRIDES if overrides.get(key) is not None}
    for key in FIXED_BY_WEIGHTS:  # a flag that would need other weights is refused, not silently dropped
        value = overrides.get(key)
        if value is not None and key in stored and _plain(value) != _plain(stored[key]):
            raise ConfigError(f"--{key.replace('_', '-')} {_plain(value)!r}: {path} holds a generator with "
                              f"{key} = {_plain(stored[key])!r}; drop the flag (it cannot change a trained model)")
    kind = lambda name: "pen" if name in ("dollar-gds", "synthetic-pen") else "kinect"  # noqa: E731
    if given.get("dataset") and stored.get("dataset") and kind(given["dataset"]) != kind(stored["dataset"]):
        raise ConfigError(f"--dataset {given['dataset']}: {path} was trained on {stored['dataset']}, a "
                          f"{kind(stored['dataset'])} data set; it cannot generate {kind(given['dataset'])} gestures")
    try:
        load_config(Config, None, {k: v for k, v in stored.items() if k not in given})
    except ConfigError as exc:
        message = str(exc).removeprefix("option ")
        raise CheckpointError(f"{path}: its stored config is not valid here ({message})") from None
    return load_config(Config, None, {**stored, **given})
