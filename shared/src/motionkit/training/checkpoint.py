"""Atomic, verified checkpoints and exact resume.

A checkpoint is one ``torch.save`` file holding the state dicts of the named modules/optimizers/schedulers,
the global RNG states, the step and any extra values. It is written to a temporary file in the same folder,
flushed to disk and renamed over the target, so a run killed mid-write (or a full disk) leaves the previous
checkpoint intact. Nothing non-finite or exploded is ever written (:func:`check_state_finite`), and a file is
checked on load against the CRC-32 that the zip container stores for every record, so a damaged file is one
line, never silently used.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from motionkit.errors import CheckpointError, NonFiniteLossError, is_disk_full
from motionkit.training.seed import get_rng_state, set_rng_state

__all__ = ["save_checkpoint", "load_checkpoint", "Checkpointer", "check_finite", "check_state_finite",
           "verify_integrity", "EXPLODED"]

EXPLODED = 1e18  # a module weight of larger magnitude is taken for a diverged run (no trained model has one)


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    check_state_finite(state, path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # disk full, quota, read-only (torch's writer raises RuntimeError)
        Path(tmp).unlink(missing_ok=True)
        if path.is_dir():
            raise CheckpointError(f"{path}: is a folder, not a checkpoint file") from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0][:120]
        if is_disk_full(exc) or isinstance(exc, RuntimeError):  # torch's zip writer hides the errno
            reason += "; is the disk full?"
        raise CheckpointError(f"{path}: cannot write ({reason}); {_what_is_kept(path)}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _what_is_kept(path: Path) -> str:
    """What a failed write leaves: the file it would have replaced, or the run's earlier checkpoints."""
    if path.is_file() or any(p != path for p in path.parent.glob("*.pt")):
        return "the previous checkpoint is intact"
    return "no earlier checkpoint exists"


def _tensors(obj: Any, where: str):
    """Every tensor inside nested dicts/lists/tuples, with a dotted path naming it."""
    if isinstance(obj, torch.Tensor):
        yield where, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from _tensors(value, f"{where}.{key}" if where else str(key))
    elif isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from _tensors(value, f"{where}.{i}")


def _is_optimizer_state(obj: Any) -> bool:
    return isinstance(obj, dict) and "param_groups" in obj and "state" in obj


def check_state_finite(state: dict[str, Any], path: str | Path = "checkpoint") -> None:
    """Refuse a state that holds a NaN/inf (anywhere: weights, optimizer moments, extras) or a module weight
    above :data:`EXPLODED` in magnitude: raises :class:`NonFiniteLossError` naming the step and the tensor.

    Called by :func:`save_checkpoint`, so a diverged run never replaces its last good checkpoint.
    """
    step = state.get("step", "?") if isinstance(state, dict) else "?"
    modules = state.get("modules", {}) if isinstance(state, dict) else {}
    kept = _what_is_kept(Path(path))
    for where, tensor in _tensors(state, ""):
        if where.startswith("rng") or not (tensor.is_floating_point() or tensor.is_complex()):
            continue
        if not bool(torch.isfinite(tensor).all()):
            raise NonFiniteLossError(f"{path}: not written: {where} is not finite at step {step} (the run "
                                     f"diverged; lower the learning rate); {kept}")
    for name, sd in modules.items() if isinstance(modules, dict) else ():
        if _is_optimizer_state(sd):
            continue
        for where, tensor in _tensors(sd, f"modules.{name}"):
            if tensor.is_floating_point() and tensor.numel() and float(tensor.detach().abs().max()) > EXPLODED:
                raise NonFiniteLossError(f"{path}: not written: {where} exploded (|w| > {EXPLODED:g}) at step "
                                         f"{step} (the run diverged; lower the learning rate); {kept}")


def verify_integrity(path: str | Path) -> None:
    """Check every record of a zip-format torch file against its stored CRC-32 (legacy non-zip files pass).

    Raises :class:`CheckpointError` naming the file and the damaged record.
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            if handle.read(4) == b"PK\x03\x04":  # a zip whose end (the central directory) was cut off
                raise CheckpointError(f"{path}: damaged checkpoint (truncated: the end of the file is missing); "
                                      "use an earlier one")
        return
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{path}: damaged checkpoint ({exc}); use an earlier one") from None
    if bad is not None:
        raise CheckpointError(f"{path}: damaged checkpoint (record {bad} fails its CRC check); use an earlier "
                              "one")


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`; a missing or corrupt file is a one-line error."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    verify_integrity(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        text = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        if "cuda" in text.lower() and "device" in text.lower():
            raise CheckpointError(f"{path}: holds CUDA tensors and this machine has no CUDA; load it with "
                                  "--device cpu") from None
        raise CheckpointError(f"{path}: not a readable checkpoint ({text})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a motionzoo checkpoint (top level is {type(state).__name__})")
    return state


class Checkpointer:
    """Periodic checkpoints of a training run in ``run_dir``.

    ``save`` writes ``ckpt_{step:08d}.pt`` and atomically replaces ``last.pt`` (and ``best.pt`` when
    ``is_best``); only the ``keep_last`` newest numbered files are kept (all of them when ``keep_last`` is None
    or 0). ``resume`` restores the modules and the RNG states from ``last.pt`` and returns the step to continue
    from. On non-main DDP ranks (``enabled=False``) ``save`` does nothing, while ``resume`` still loads, so every
    rank starts from the same state.
    """

    def __init__(self, run_dir: str | Path, keep_last: int | None = 2, enabled: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.keep_last = keep_last
        self.enabled = enabled

    def latest_path(self) -> Path | None:
        """``last.pt``; without it (a kill between writing ``ckpt_N.pt`` and ``last.pt``, or deleted by hand)
        the newest numbered checkpoint, which :meth:`save` always writes first; None when there is none."""
        path = self.run_dir / "last.pt"
        if path.is_file():
            return path
        numbered = sorted(self.run_dir.glob("ckpt_*.pt"))
        return numbered[-1] if numbered else None

    def save(
        self, step: int, modules: dict[str, Any], extra: dict[str, Any] | None = None, is_best: bool = False
    ) -> Path | None:
        if not self.enabled:
            return None
        state = {
            "step": int(step),
            "modules": {name: _unwrap(obj).state_dict() for name, obj in modules.items()},
            "rng": get_rng_state(),
            "extra": extra or {},
        }
        numbered = save_checkpoint(self.run_dir / f"ckpt_{step:08d}.pt", state)
        save_checkpoint(self.run_dir / "last.pt", state)
        if is_best:
            save_checkpoint(self.run_dir / "best.pt", state)
        if self.keep_last:  # None or 0: keep every numbered checkpoint (as DeepNAG's original does)
            for old in sorted(self.run_dir.glob("ckpt_*.pt"))[: -self.keep_last]:
                old.unlink(missing_ok=True)
        return numbered

    def resume(
        self, modules: dict[str, Any], map_location: str | torch.device = "cpu", path: str | Path | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Restore ``modules`` from ``path`` (default :meth:`latest_path`); ``(0, {})`` when there is nothing
        to resume."""
        path = Path(path) if path is not None else self.latest_path()
        if path is None:
            return 0, {}
        state = load_checkpoint(path, map_location)
        restore_modules(state, modules, path)
        set_rng_state(state["rng"])
        return int(state["step"]), dict(state.get("extra", {}))


def restore_modules(state: dict[str, Any], modules: dict[str, Any], path: str | Path = "checkpoint") -> None:
    """Load each named state dict of a checkpoint into ``modules``; a missing or mismatched one is one line."""
    saved = state.get("modules", {})
    for name, obj in modules.items():
        if name not in saved:
            raise CheckpointError(f"{path}: has no state for {name!r} (has {', '.join(saved) or 'nothing'})")
        try:
            _unwrap(obj).load_state_dict(saved[name])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise CheckpointError(f"{path}: {name!r} does not fit ({str(exc).splitlines()[0][:160]})") from None


def _unwrap(obj: Any) -> Any:
    """The module inside a DDP/DataParallel wrapper, so checkpoints never carry a ``module.`` prefix."""
    return getattr(obj, "module", obj) if isinstance(obj, torch.nn.Module) else obj


def check_finite(losses: dict[str, Any], step: int) -> None:
    """Raise :class:`NonFiniteLossError` naming the first loss that is NaN or infinite at ``step``."""
    for name, value in losses.items():
        number = float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
        if number != number or number in (float("inf"), float("-inf")):
            raise NonFiniteLossError(
                f"loss {name!r} is {number} at step {step}; nothing from this step was saved (lower the "
                "learning rate or check the data)"
            )
