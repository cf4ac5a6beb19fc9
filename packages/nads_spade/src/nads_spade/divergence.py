"""Divergence guards of both trainers: a run whose losses, outputs or weights leave the finite range stops with one
line naming the step, the loss and the learning-rate flag, before anything of it can reach a checkpoint.

motionkit's ``save_checkpoint`` refuses non-finite or exploded states as well; the checks here stop the run at the
step where it happened (a NaN belt probability would otherwise end in torch's BCE range error, a traceback) and
say what to do: continue the last good checkpoint with a lower learning rate and ``--resume``.
"""

from __future__ import annotations

import torch

from motionkit.errors import NonFiniteLossError
from motionkit.training.divergence import diverged_tensor


class Guard:
    """Checks of one run. ``lr_flag`` names the flag to lower (``--nads_lr``, ``--lr``); ``last_checkpoint``
    returns the path of the last good checkpoint or None."""

    def __init__(self, lr_flag: str, last_checkpoint) -> None:
        self.lr_flag = lr_flag
        self.last_checkpoint = last_checkpoint

    def _stop(self, step: int, what: str, loss: str) -> NonFiniteLossError:
        path = self.last_checkpoint()
        kept = (f"nothing of it was saved and {path} is the last good state: continue it with a lower "
                f"{self.lr_flag} and --resume" if path is not None else
                f"no checkpoint had been written yet: start again with a lower {self.lr_flag}")
        return NonFiniteLossError(f"training diverged at step {step}: {what} ({loss}); {kept}")

    def losses(self, terms: dict[str, torch.Tensor], step: int) -> None:
        """Stop when a loss term is NaN or infinite."""
        for name, value in terms.items():
            number = float(value.detach())
            if number != number or abs(number) == float("inf"):
                raise self._stop(step, f"loss {name!r} is {number}", _describe(terms))

    def outputs(self, tensors: dict[str, torch.Tensor], step: int, terms: dict | None = None) -> None:
        """Stop when a network output holds NaN/inf (before a loss that would fail on it, e.g. BCE)."""
        for name, value in tensors.items():
            if not bool(torch.isfinite(value.detach()).all()):
                raise self._stop(step, f"{name} is not finite", _describe(terms or {}))

    def weights(self, modules: dict[str, torch.nn.Module], step: int, terms: dict, lr: float) -> None:
        """After an optimiser step: stop when a weight is non-finite or beyond motionkit's EXPLODED bound."""
        bad = diverged_tensor(modules)
        if bad is not None:
            name = next(n for n in modules if bad[0].startswith(f"{n}."))
            raise self._stop(step, f"{name} weights reached {bad[1]:.3g} after an update with {self.lr_flag} "
                                   f"{lr:g}", _describe(terms))


def _describe(terms: dict) -> str:
    """'loss total 12.5' style summary of the step's losses (the total when there is one)."""
    if not terms:
        return "no loss computed"
    name = "total" if "total" in terms else next(iter(terms))
    value = terms[name]
    return f"loss {name} {float(value.detach() if isinstance(value, torch.Tensor) else value):.4g}"
