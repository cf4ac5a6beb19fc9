"""Spotting a diverged training state: the first tensor of a model or optimizer that is NaN, infinite, or (for
model weights and buffers) beyond a magnitude no trained model reaches.

Trainers call :func:`diverged_tensor` after an optimiser step, to stop with one line before a NaN reaches a
sample, a metric or a checkpoint, and after a resume, to refuse a checkpoint written by a diverged run of an
older version. Each package words its own line (the step, the learning-rate flag, the checkpoint kept);
:func:`~motionkit.training.checkpoint.save_checkpoint` refuses such a state on its own as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from motionkit.training.checkpoint import EXPLODED

__all__ = ["diverged_tensor", "EXPLODED"]


def diverged_tensor(objects: Mapping[str, Any], limit: float = EXPLODED) -> tuple[str, float] | None:
    """The first diverged tensor among ``objects``, or None when every one is healthy.

    Args:
        objects: name -> ``torch.nn.Module`` (its parameters and buffers), ``torch.optim.Optimizer`` (its
            per-parameter state) or a state dict.
        limit: a module tensor whose largest magnitude exceeds this counts as exploded. Optimizer state is only
            checked for NaN/inf: Adam's second moments are squares of gradients and may legitimately be large.

    Returns:
        ``(where, worst)``: ``"<name>.<key>"`` and the tensor's largest magnitude (NaN or inf when non-finite).
    """
    named = list(_float_tensors(objects, limit))
    if not named:
        return None
    peaks = torch.stack([t.detach().abs().max().float().cpu() for _, t, _ in named])  # one device sync
    if bool(torch.isfinite(peaks).all()) and all(float(p) <= lim for p, (_, _, lim) in zip(peaks, named)):
        return None
    for peak, (where, _, lim) in zip(peaks.tolist(), named):
        if not (math.isfinite(peak) and peak <= lim):
            return where, peak
    return None


def _float_tensors(objects: Mapping[str, Any], limit: float) -> Iterator[tuple[str, torch.Tensor, float]]:
    """(where, tensor, its limit) for every non-empty floating-point tensor of ``objects``."""
    for name, obj in objects.items():
        if isinstance(obj, torch.optim.Optimizer):
            items = ((f"{key}[{i}]", value) for i, state in enumerate(obj.state.values())
                     for key, value in state.items())
            lim = math.inf
        else:
            state = obj.state_dict() if isinstance(obj, torch.nn.Module) else obj
            items, lim = state.items(), limit
        for key, tensor in items:
            if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and tensor.numel():
                yield (f"{name}.{key}" if name else str(key)), tensor, lim
