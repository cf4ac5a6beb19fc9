"""Public soft-DTW functions: input checks, cost selection, pair lists, divergence. Kernels live in cpu.py/cuda.py."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .autograd import SoftDTWFunction

DISTANCES = ("sqeuclidean", "cosine")
COSINE_EPS = 1e-8


# ----------------------------------------------------------------------------------------------- checks
def _check_seq(name: str, t) -> None:
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (B, N, D), got {type(t).__name__}")
    if t.ndim != 3:
        raise ValueError(f"{name} must have shape (B, N, D) (3 dims), got shape {tuple(t.shape)}")
    if min(t.shape) == 0:
        raise ValueError(f"{name} must be non-empty, got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")


def _check_finite(name: str, t: torch.Tensor) -> None:
    # numpy on CPU: torch would wake its OpenMP pool for a reduction this cheap
    if t.device.type == "cpu" and t.dtype in (torch.float16, torch.float32, torch.float64):
        finite = np.isfinite(t.detach().numpy()).all()
    else:
        finite = torch.isfinite(t).all()
    if not bool(finite):
        raise ValueError(f"{name} contains NaN or infinite values (soft-DTW NaN policy: inputs must be finite)")


def _check_gamma(gamma) -> float:
    try:
        g = float(gamma)
    except (TypeError, ValueError):
        raise ValueError(f"gamma must be a positive number, got {gamma!r}") from None
    if not (g > 0 and math.isfinite(g)):
        raise ValueError(f"gamma must be a finite number > 0, got {gamma!r}")
    return g


def _check_bandwidth(bandwidth) -> int:
    if bandwidth is None:
        return -1
    if isinstance(bandwidth, bool) or not float(bandwidth).is_integer() or bandwidth < 0:
        raise ValueError(f"bandwidth must be None or an integer >= 0 (cells), got {bandwidth!r}")
    return int(bandwidth)


def _check_dist(dist: str) -> str:
    if dist not in DISTANCES:
        raise ValueError(f"dist must be one of {DISTANCES}, got {dist!r}")
    return dist


def _lengths(name: str, lengths, batch: int, full: int, device) -> torch.Tensor:
    """(batch,) int64 lengths on ``device``; None means every sequence has length ``full``."""
    if lengths is None:
        return torch.full((batch,), full, dtype=torch.int64, device=device)
    t = torch.as_tensor(lengths, device=device)
    if t.ndim != 1 or t.shape[0] != batch or t.is_floating_point() or t.is_complex():
        raise ValueError(f"{name} must be an integer tensor of shape ({batch},), got {tuple(t.shape)} {t.dtype}")
    t = t.to(torch.int64)
    if batch and (int(t.min()) < 1 or int(t.max()) > full):
        raise ValueError(f"{name} must lie in [1, {full}], got min {int(t.min())} max {int(t.max())}")
    return t


def _compute_dtype(t: torch.Tensor) -> torch.dtype:
    return t.dtype if t.dtype in (torch.float32, torch.float64) else torch.float32


def _prepare(x, y, dist):
    """Checks shared by every entry point; returns (a, b, mode) ready for SoftDTWFunction."""
    _check_seq("x", x)
    _check_seq("y", y)
    if x.shape[2] != y.shape[2]:
        raise ValueError(f"x and y must have the same feature size D, got x D={x.shape[2]} and y D={y.shape[2]}")
    if x.device != y.device:
        raise ValueError(f"x and y must be on the same device, got {x.device} and {y.device}")
    dist = _check_dist(dist)
    _check_finite("x", x)
    _check_finite("y", y)
    dtype = torch.promote_types(_compute_dtype(x), _compute_dtype(y))
    a, b = x.to(dtype), y.to(dtype)
    if dist == "cosine":
        a = nn.functional.normalize(a, dim=-1, eps=COSINE_EPS)
        b = nn.functional.normalize(b, dim=-1, eps=COSINE_EPS)
        return a, b, "dot"
    return a, b, "sqeuclidean"


# ------------------------------------------------------------------------------------------- functions
def soft_dtw(
    x: torch.Tensor,
    y: torch.Tensor,
    gamma: float = 1.0,
    bandwidth: int | None = None,
    normalize: bool = False,
    dist: str = "sqeuclidean",
    x_lengths=None,
    y_lengths=None,
) -> torch.Tensor:
    """Soft-DTW between paired sequences ``x[b]`` and ``y[b]`` (Cuturi & Blondel, ICML 2017).

    ``sDTW_g(x, y) = -g log sum_{A in alignments} exp(-<A, C(x, y)> / g)``, computed by the recursion
    ``R[i, j] = C[i, j] + softmin_g(R[i-1, j-1], R[i-1, j], R[i, j-1])`` with a max-subtracted log-sum-exp.

    Args:
        x: (B, N, D) float tensor; y: (B, M, D) on the same device (CPU: Numba kernels; CUDA: Numba CUDA
            kernels, any length). N != M is allowed.
        gamma: smoothing > 0 (gamma -> 0 gives exact DTW). DeepNAG uses 0.1.
        bandwidth: Sakoe-Chiba radius in cells, or None for no band. For N != M the band is the
            parallelogram ``-r - max(0, M-N) <= i - j <= r + max(0, N-M)`` so a path always exists
            (``r = 0`` with N == M allows only the diagonal).
        normalize: return the soft-DTW divergence ``D(x, y) - (D(x, x) + D(y, y)) / 2`` (Blondel, Mensch &
            Vert, AISTATS 2021), each term at its own lengths (valid for N != M); it is >= 0 for
            ``dist="sqeuclidean"`` and 0 when x == y.
        dist: local cost between frames: ``"sqeuclidean"`` ``||x_i - y_j||^2`` (the cost used by DeepNAG's
            sdtw-ed) or ``"cosine"`` ``1 - cos(x_i, y_j)`` (pass direction vectors for DeepNAG's sdtw-cos; zero
            vectors have cost 1 to everything). The cost matrix is computed inside the kernels, never
            materialised. For any other cost use :func:`soft_dtw_from_cost`.
        x_lengths, y_lengths: optional (B,) integer lengths: the result for pair b is the soft-DTW of
            ``x[b, :x_lengths[b]]`` and ``y[b, :y_lengths[b]]``; padded frames get zero gradient.

    Returns:
        (B,) tensor in the dtype of the inputs (float32/float64; half precision is computed in float32).
        Differentiable once with respect to x and y (E-matrix backward); double backward is NOT supported
        and raises ``RuntimeError`` if attempted.

    Raises:
        ValueError: wrong number of dims, empty inputs, mismatched D or batch, gamma <= 0, a bad bandwidth or
            dist, lengths out of range, or NaN/inf in x or y (NaN policy: inputs must be finite).

    Note: values can be negative (the soft minimum is below the hard minimum), and sDTW(x, x) != 0;
    use ``normalize=True`` for a divergence. Precision: the CPU path accumulates in float64; the CUDA path
    computes in the input dtype.
    """
    a, b, mode = _prepare(x, y, dist)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same batch size B, got {x.shape[0]} and {y.shape[0]}")
    g = _check_gamma(gamma)
    band = _check_bandwidth(bandwidth)
    B, N, M = x.shape[0], x.shape[1], y.shape[1]
    nlen = _lengths("x_lengths", x_lengths, B, N, x.device)
    mlen = _lengths("y_lengths", y_lengths, B, M, x.device)
    idx = torch.arange(B, device=x.device)
    out = SoftDTWFunction.apply(mode, a, b, idx, idx, nlen, mlen, g, band)
    if normalize:
        out = out - 0.5 * (
            SoftDTWFunction.apply(mode, a, a, idx, idx, nlen, nlen, g, band)
            + SoftDTWFunction.apply(mode, b, b, idx, idx, mlen, mlen, g, band)
        )
    return out.to(x.dtype) if x.dtype == y.dtype else out


def soft_dtw_from_cost(
    cost: torch.Tensor,
    gamma: float = 1.0,
    bandwidth: int | None = None,
    x_lengths=None,
    y_lengths=None,
) -> torch.Tensor:
    """Soft-DTW of precomputed local costs ``cost`` (B, N, M) -> (B,), differentiable w.r.t. ``cost``.

    Same recursion, band and length semantics as :func:`soft_dtw` (lengths crop ``cost[b, :Nb, :Mb]``).
    ``+inf`` entries are allowed and mean "forbidden cell"; NaN and ``-inf`` raise ValueError.
    Double backward is not supported.
    """
    if not isinstance(cost, torch.Tensor) or cost.ndim != 3:
        shape = tuple(cost.shape) if isinstance(cost, torch.Tensor) else type(cost).__name__
        raise ValueError(f"cost must be a torch.Tensor of shape (B, N, M), got {shape}")
    if min(cost.shape) == 0 or not cost.is_floating_point():
        raise ValueError(f"cost must be a non-empty float tensor, got shape {tuple(cost.shape)} {cost.dtype}")
    if bool(torch.isnan(cost).any()) or bool((cost == -math.inf).any()):
        raise ValueError("cost contains NaN or -inf values (+inf is allowed and forbids a cell)")
    g = _check_gamma(gamma)
    band = _check_bandwidth(bandwidth)
    B, N, M = cost.shape
    nlen = _lengths("x_lengths", x_lengths, B, N, cost.device)
    mlen = _lengths("y_lengths", y_lengths, B, M, cost.device)
    idx = torch.arange(B, device=cost.device)
    c = cost.to(_compute_dtype(cost))
    return SoftDTWFunction.apply("cost", c, None, idx, idx, nlen, mlen, g, band).to(cost.dtype)


def pairwise_soft_dtw(
    x: torch.Tensor,
    y: torch.Tensor,
    gamma: float = 1.0,
    bandwidth: int | None = None,
    normalize: bool = False,
    dist: str = "sqeuclidean",
    x_lengths=None,
    y_lengths=None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Soft-DTW of every x_i (B1, N, D) against every y_j (B2, M, D) -> (B1, B2).

    ``mask`` (B1, B2) bool, optional: only pairs with ``mask[i, j]`` are computed; the others are ``+inf``
    (and get no gradient). DeepNAG's class-aware Hausdorff loss uses it with ``mask = labels_x[:, None] ==
    labels_y[None, :]``. Only the list of selected pairs is built: the kernels index x and y directly, so
    no (B1 * B2, N, D) copies are made, and the fused costs never build (N, M) matrices.
    With ``normalize=True`` the self terms D(x_i, x_i) and D(y_j, y_j) are computed once per sequence.
    Other arguments as in :func:`soft_dtw`. Double backward is not supported.
    """
    a, b, mode = _prepare(x, y, dist)
    g = _check_gamma(gamma)
    band = _check_bandwidth(bandwidth)
    B1, N = x.shape[0], x.shape[1]
    B2, M = y.shape[0], y.shape[1]
    dev = x.device
    nlen = _lengths("x_lengths", x_lengths, B1, N, dev)
    mlen = _lengths("y_lengths", y_lengths, B2, M, dev)
    if mask is None:
        ix = torch.arange(B1, device=dev).repeat_interleave(B2)
        iy = torch.arange(B2, device=dev).repeat(B1)
    else:
        mask = torch.as_tensor(mask, device=dev)
        if mask.shape != (B1, B2) or mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor of shape ({B1}, {B2}), got {tuple(mask.shape)} {mask.dtype}")
        ix, iy = mask.nonzero(as_tuple=True)
    out_dtype = a.dtype
    full = torch.full((B1, B2), math.inf, dtype=out_dtype, device=dev)
    if ix.numel() == 0:
        return full
    vals = SoftDTWFunction.apply(mode, a, b, ix, iy, nlen[ix], mlen[iy], g, band)
    if normalize:
        i1 = torch.arange(B1, device=dev)
        i2 = torch.arange(B2, device=dev)
        sx = SoftDTWFunction.apply(mode, a, a, i1, i1, nlen, nlen, g, band)
        sy = SoftDTWFunction.apply(mode, b, b, i2, i2, mlen, mlen, g, band)
        vals = vals - 0.5 * (sx[ix] + sy[iy])
    return full.index_put((ix, iy), vals)


class SoftDTW(nn.Module):
    """``nn.Module`` wrapper of :func:`soft_dtw`: ``SoftDTW(gamma=0.1)(x, y) -> (B,)``.

    Args: ``gamma``, ``bandwidth``, ``normalize``, ``dist`` as in :func:`soft_dtw`; ``forward(x, y,
    x_lengths=None, y_lengths=None)``. Differentiable once (no double backward).
    """

    def __init__(self, gamma: float = 1.0, bandwidth: int | None = None, normalize: bool = False,
                 dist: str = "sqeuclidean"):
        super().__init__()
        self.gamma = _check_gamma(gamma)
        self.bandwidth = bandwidth
        _check_bandwidth(bandwidth)
        self.normalize = bool(normalize)
        self.dist = _check_dist(dist)

    def forward(self, x, y, x_lengths=None, y_lengths=None):
        return soft_dtw(x, y, self.gamma, self.bandwidth, self.normalize, self.dist, x_lengths, y_lengths)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, bandwidth={self.bandwidth}, normalize={self.normalize}, dist={self.dist!r}"
