"""Batched (average) Hausdorff distances between point sequences, in plain differentiable torch.

For point sets X = {x_1..x_N} and Y = {y_1..y_M} with point distance d (Euclidean by default):

* Hausdorff:          ``H(X, Y)   = max( max_i min_j d(x_i, y_j), max_j min_i d(x_i, y_j) )``
* average Hausdorff:  ``AHD(X, Y) = 1/2 ( mean_i min_j d(x_i, y_j) + mean_j min_i d(x_i, y_j) )``

The average form is the one DeepNAG builds its loss on (there over *sets of sequences* with soft-DTW as
``d``; use :func:`hausdorff_from_distances` on a ``pairwise_soft_dtw`` matrix for that). Gradients are the
usual sub-gradients of min/max (flow to the selected pairs only).
"""

from __future__ import annotations

import math

import torch

from .api import _check_finite, _check_seq, _lengths


def hausdorff_from_distances(d: torch.Tensor, x_mask=None, y_mask=None, average: bool = False) -> torch.Tensor:
    """(Average) Hausdorff distance from a distance matrix ``d`` (..., N, M) -> (...).

    ``x_mask`` (..., N) / ``y_mask`` (..., M) bool, optional: which rows / columns are real points (padding
    is ignored). ``+inf`` entries mean "not comparable" and are skipped by the minima; a point with no finite
    distance at all is left out of the mean/max (so a +inf-masked ``pairwise_soft_dtw`` matrix works).
    If no point is left on either side the result is ``+inf``.
    """
    if not isinstance(d, torch.Tensor) or d.ndim < 2:
        raise ValueError(f"d must be a tensor of shape (..., N, M), got {getattr(d, 'shape', type(d).__name__)}")
    if bool(torch.isnan(d).any()):
        raise ValueError("d contains NaN values")
    inf = torch.full((), math.inf, dtype=d.dtype, device=d.device)
    if x_mask is not None:
        d = torch.where(torch.as_tensor(x_mask, device=d.device)[..., :, None], d, inf)
    if y_mask is not None:
        d = torch.where(torch.as_tensor(y_mask, device=d.device)[..., None, :], d, inf)
    ab = d.min(dim=-1).values  # (..., N) nearest y for each x
    ba = d.min(dim=-2).values  # (..., M) nearest x for each y
    ab_ok, ba_ok = torch.isfinite(ab), torch.isfinite(ba)
    zero = torch.zeros((), dtype=d.dtype, device=d.device)
    if average:
        def mean(v, ok):
            cnt = ok.sum(-1)
            s = torch.where(ok, v, zero).sum(-1)
            return torch.where(cnt > 0, s / cnt.clamp(min=1), inf)

        return 0.5 * (mean(ab, ab_ok) + mean(ba, ba_ok))
    ninf = -inf

    def vmax(v, ok):
        m = torch.where(ok, v, ninf).max(-1).values
        return torch.where(ok.any(-1), m, inf)

    return torch.maximum(vmax(ab, ab_ok), vmax(ba, ba_ok))


def hausdorff(x: torch.Tensor, y: torch.Tensor, x_lengths=None, y_lengths=None, average: bool = False,
              squared: bool = False) -> torch.Tensor:
    """Batched Hausdorff distance between the point sequences x[b] (N, D) and y[b] (M, D) -> (B,).

    ``average=True`` gives the average Hausdorff distance (see the module docstring); ``squared=True`` uses
    squared Euclidean point distances. ``x_lengths``/``y_lengths`` (B,) crop padded sequences.
    Raises ValueError on wrong dims, mismatched B or D, or non-finite inputs.
    """
    _check_seq("x", x)
    _check_seq("y", y)
    if x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ValueError(f"x and y must share B and D, got x {tuple(x.shape)} and y {tuple(y.shape)}")
    _check_finite("x", x)
    _check_finite("y", y)
    B, N, M = x.shape[0], x.shape[1], y.shape[1]
    nlen = _lengths("x_lengths", x_lengths, B, N, x.device)
    mlen = _lengths("y_lengths", y_lengths, B, M, x.device)
    diff = x[:, :, None, :] - y[:, None, :, :]
    d2 = (diff * diff).sum(-1)
    d = d2 if squared else torch.sqrt(d2.clamp_min(1e-30)) * (d2 > 0)
    x_mask = torch.arange(N, device=x.device)[None, :] < nlen[:, None]
    y_mask = torch.arange(M, device=x.device)[None, :] < mlen[:, None]
    return hausdorff_from_distances(d, x_mask, y_mask, average=average)


def average_hausdorff(x, y, x_lengths=None, y_lengths=None, squared: bool = False) -> torch.Tensor:
    """``hausdorff(..., average=True)``: 1/2 (mean_i min_j d(x_i, y_j) + mean_j min_i d(x_i, y_j)) -> (B,)."""
    return hausdorff(x, y, x_lengths, y_lengths, average=True, squared=squared)
