"""Atomic checkpoints and exact resume.

A checkpoint is one ``torch.save`` file holding the state dicts of the named modules/optimizers/schedulers,
the global RNG states, the step and any extra values. It is written to a temporary file in the same folder,
flushed to disk and renamed over the target, so a run killed mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from motionkit.errors import CheckpointError, NonFiniteLossError
from motionkit.training.seed import get_rng_state, set_rng_state

__all__ = ["save_checkpoint", "load_checkpoint", "Checkpointer", "check_finite"]


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`; a missing or corrupt file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=map_location, weights_only=False)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        raise CheckpointError(f"{path}: not a readable checkpoint ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a motionzoo checkpoint (top level is {type(state).__name__})")
    return state


class Checkpointer:
    """Periodic checkpoints of a training run in ``run_dir``.

    ``save`` writes ``ckpt_{step:08d}.pt`` and atomically replaces ``last.pt`` (and ``best.pt`` when
    ``is_best``); only the ``keep_last`` newest numbered files are kept. ``resume`` restores the modules and the
    RNG states from ``last.pt`` and returns the step to continue from. On non-main DDP ranks (``enabled=False``)
    ``save`` does nothing, while ``resume`` still loads, so every rank starts from the same state.
    """

    def __init__(self, run_dir: str | Path, keep_last: int = 2, enabled: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.keep_last = keep_last
        self.enabled = enabled

    def latest_path(self) -> Path | None:
        path = self.run_dir / "last.pt"
        return path if path.is_file() else None

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
        for old in sorted(self.run_dir.glob("ckpt_*.pt"))[: -self.keep_last or None]:
            old.unlink(missing_ok=True)
        return numbered

    def resume(
        self, modules: dict[str, Any], map_location: str | torch.device = "cpu", path: str | Path | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Restore ``modules`` from ``path`` (default ``last.pt``); ``(0, {})`` when there is nothing to resume."""
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
                f"loss {name!r} is {number} at step {step}; the last checkpoint is intact (lower the learning "
                "rate or check the data)"
            )
