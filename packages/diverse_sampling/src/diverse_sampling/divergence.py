"""Divergence during training: a NaN/inf loss or exploded weights stop the run with one line that says which
checkpoint is kept, and a diverged state is never checkpointed (issue 20).

The loops call :func:`check_losses` before every optimiser step and :func:`check_weights` before every checkpoint,
inside ``with diverged(run_dir, epoch, saved):``, which turns the failure into one line naming the epoch, the
loss or tensor, and what ``last.pt`` still holds (or that nothing was saved yet).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import torch

from motionkit.errors import NonFiniteLossError
from motionkit.training.divergence import diverged_tensor

EXPLODED = 1e8  # |w| above this is a diverged run: trained weights and BatchNorm statistics are O(1)..O(1e4)


def check_losses(terms: dict[str, float]) -> None:
    """Raise :class:`NonFiniteLossError` naming the first loss term that is NaN or infinite."""
    for name, value in terms.items():
        if not math.isfinite(value):
            raise NonFiniteLossError(f"loss {name!r} is {value}")


def check_weights(model: torch.nn.Module, opt: torch.optim.Optimizer | None = None, limit: float = EXPLODED) -> None:
    """Raise :class:`NonFiniteLossError` when a float tensor of ``model``'s state (parameters and buffers) is
    non-finite or above ``limit`` in magnitude, or a tensor of ``opt``'s state is non-finite."""
    bad = diverged_tensor({"": model, "optimizer state": opt} if opt is not None else {"": model}, limit)
    if bad is None:
        return
    where, worst = bad
    if where.startswith("optimizer state."):
        raise NonFiniteLossError(f"{where} is not finite")
    raise NonFiniteLossError(f"weights exploded ({where}: max |w| = {worst:.3g})")


@contextlib.contextmanager
def diverged(run_dir: str | Path, epoch: int, saved: int) -> Iterator[None]:
    """Re-raise a :class:`NonFiniteLossError` of the block as one line: epoch (1-based), what diverged, and the
    state kept, ``saved`` being the epoch ``<run_dir>/last.pt`` holds (0: none)."""
    try:
        yield
    except NonFiniteLossError as exc:
        raise NonFiniteLossError(f"training diverged in epoch {epoch}: {exc}; not saved; "
                                 f"{kept(Path(run_dir), saved)}") from None


def kept(run_dir: Path, saved: int) -> str:
    """What a diverged run leaves, and how to go on."""
    if saved:
        return (f"{run_dir / 'last.pt'} still holds the finite state of epoch {saved} (continue it with "
                "--resume and a lower --lr)")
    return "no checkpoint was written before it (start again with a lower --lr)"
