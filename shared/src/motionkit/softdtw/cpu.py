"""Numba CPU kernels for soft-DTW (forward value and the E-matrix backward).

Conventions shared with :mod:`motionkit.softdtw.cuda` (read this once, the GPU file follows it):

* A *pair* ``p`` aligns row sequence ``x[ix[p]]`` (length ``nlen[p]``) with column sequence ``y[iy[p]]``
  (length ``mlen[p]``). The pair list is what lets :func:`pairwise_soft_dtw` run only the masked pairs
  without copying sequences.
* ``mode`` picks the local cost ``c(i, j)``:
  ``MODE_COST`` reads a precomputed ``C[p, i, j]``; ``MODE_SQEUCLIDEAN`` computes ``||x_i - y_j||^2`` and
  ``MODE_DOT`` computes ``1 - <x_i, y_j>`` (cosine cost once the caller has normalised the frames).
  The fused modes never materialise the (N, M) cost matrix.
* Recursion (Cuturi & Blondel 2017), 0-based with ``R[-1, -1] = 0`` and ``R[i, -1] = R[-1, j] = +inf``::

      R[i, j] = c(i, j) + softmin_g(R[i-1, j-1], R[i-1, j], R[i, j-1])
      softmin_g(a, b, c) = r - g * log(exp((r - a)/g) + exp((r - b)/g) + exp((r - c)/g)),  r = min(a, b, c)

  (log-sum-exp with the minimum subtracted: one of the three exponentials is exp(0) = 1, so nothing
  overflows whatever the scale of the costs).
* The forward pass stores, per cell, the softmin weights of the *up* (i-1, j) and *left* (i, j-1)
  predecessors, ``W[..., 0] = w_up`` and ``W[..., 1] = w_left``; the diagonal weight is
  ``1 - w_up - w_left``. These are exactly the factors ``exp((R[pred] - R[cell] + c(cell)) / g)`` of the
  E-matrix recursion, so the backward pass needs no exp/log at all:

      E[n-1, m-1] = 1;   E[i, j] = E[i+1, j] w_up[i+1, j] + E[i, j+1] w_left[i, j+1] + E[i+1, j+1] w_diag[i+1, j+1]

  and ``dR[n-1, m-1] / dc(i, j) = E[i, j]`` (the expected soft alignment).
* Sakoe-Chiba band of radius ``band`` (``-1`` = none), defined for unequal lengths as the parallelogram
  ``-band - max(0, m - n) <= i - j <= band + max(0, n - m)``: for n == m the classic ``|i - j| <= band``,
  otherwise the band is widened by the length difference so that a warping path always exists.
  Cells outside the band are +inf and get zero gradient.

The per-cell work is one pass over the row of ``R`` kept in two rolling buffers (O(M) scratch per pair);
pairs run in parallel with ``prange``.
"""

from __future__ import annotations

import math
import os

import numba
import numpy as np
from numba import prange

MODE_COST = 0
MODE_SQEUCLIDEAN = 1
MODE_DOT = 2

# fastmath without 'nnan'/'ninf': the kernels rely on +inf for cells outside the band / unreachable.
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def _jit(**kwargs):
    """``numba.njit`` with ``cache=True`` when a cache location is writable, else without caching.

    Numba refuses to decorate with ``cache=True`` when it finds no writable cache directory (read-only
    install, no writable home); we then compile at each process start instead of failing to import.
    """

    def decorate(fn):
        if os.environ.get("MOTIONKIT_SOFTDTW_NO_CACHE") != "1":
            try:
                return numba.njit(cache=True, **kwargs)(fn)
            except (RuntimeError, OSError):  # no cache locator available
                pass
        return numba.njit(cache=False, **kwargs)(fn)

    return decorate


@_jit(inline="always")
def band_limits(n, m, band):
    """Inclusive limits (lo, hi) on ``i - j`` for a pair of lengths (n, m); ``band < 0`` means no band."""
    if band < 0:
        return -m, n
    lo = -band - max(0, m - n)
    hi = band + max(0, n - m)
    return lo, hi


@_jit(inline="always")
def _cost(mode, C, x, y, p, xi, yi, i, j):
    if mode == MODE_COST:
        return C[p, i, j]
    acc = 0.0
    if mode == MODE_SQEUCLIDEAN:
        for k in range(x.shape[2]):
            d = x[xi, i, k] - y[yi, j, k]
            acc += d * d
        return acc
    for k in range(x.shape[2]):
        acc += x[xi, i, k] * y[yi, j, k]
    return 1.0 - acc


@_jit(fastmath=_FASTMATH)
def _forward_pair(p, mode, C, x, y, ix, iy, nlen, mlen, gamma, band, out, W, store):
    n = nlen[p]
    m = mlen[p]
    xi = ix[p]
    yi = iy[p]
    lo, hi = band_limits(n, m, band)
    inv_g = 1.0 / gamma
    inf = np.inf
    # prev[j + 1] = R[i - 1, j]; prev[0] = R[i - 1, -1]. Same for cur with row i.
    prev = np.full(m + 2, inf)
    cur = np.full(m + 2, inf)
    prev[0] = 0.0
    for i in range(n):
        j0 = max(0, i - hi)
        j1 = min(m - 1, i - lo)
        cur[j0] = inf
        for j in range(j0, j1 + 1):
            c = _cost(mode, C, x, y, p, xi, yi, i, j)
            rd = prev[j]
            ru = prev[j + 1]
            rl = cur[j]
            r = min(rd, min(ru, rl))
            if r == inf:
                val = inf
                wu = 0.0
                wl = 0.0
            else:
                ed = math.exp((r - rd) * inv_g)
                eu = math.exp((r - ru) * inv_g)
                el = math.exp((r - rl) * inv_g)
                s = ed + eu + el
                val = c + r - gamma * math.log(s)
                inv_s = 1.0 / s
                wu = eu * inv_s
                wl = el * inv_s
            cur[j + 1] = val
            if store:
                W[p, i, j, 0] = wu
                W[p, i, j, 1] = wl
        if j1 + 2 <= m:
            cur[j1 + 2] = inf
        prev, cur = cur, prev
    out[p] = prev[m]


@_jit(parallel=True)
def forward(mode, C, x, y, ix, iy, nlen, mlen, gamma, band, out, W, store):
    """Soft-DTW values of every pair into ``out`` (float64); softmin weights into ``W`` if ``store``."""
    for p in prange(ix.shape[0]):
        _forward_pair(p, mode, C, x, y, ix, iy, nlen, mlen, gamma, band, out, W, store)


@_jit(fastmath=_FASTMATH)
def _backward_pair(p, mode, x, y, ix, iy, nlen, mlen, band, g, W, G, gx, gy):
    n = nlen[p]
    m = mlen[p]
    xi = ix[p]
    yi = iy[p]
    dim = x.shape[2]
    lo, hi = band_limits(n, m, band)
    # acc[j] = contributions already pushed into cell (i, j) from row i + 1.
    acc = np.zeros(m + 1)
    new = np.zeros(m + 1)
    acc[m - 1] = g[p]  # seed: dOut/dR[n-1, m-1]
    for i in range(n - 1, -1, -1):
        j0 = max(0, i - hi)
        j1 = min(m - 1, i - lo)
        carry_left = 0.0  # E[i, j+1] * w_left[i, j+1]  -> cell (i, j)
        carry_diag = 0.0  # E[i, j+1] * w_diag[i, j+1]  -> cell (i-1, j)
        for j in range(j1, j0 - 1, -1):
            e = acc[j] + carry_left
            wu = W[p, i, j, 0]
            wl = W[p, i, j, 1]
            wd = max(1.0 - wu - wl, 0.0)
            carry_left = e * wl
            new[j] = e * wu + carry_diag
            carry_diag = e * wd
            if mode == MODE_COST:
                G[p, i, j] = e
            elif mode == MODE_SQEUCLIDEAN:
                for k in range(dim):
                    d = 2.0 * e * (x[xi, i, k] - y[yi, j, k])
                    gx[p, i, k] += d
                    gy[p, j, k] -= d
            else:
                for k in range(dim):
                    gx[p, i, k] -= e * y[yi, j, k]
                    gy[p, j, k] -= e * x[xi, i, k]
        if j0 >= 1:
            new[j0 - 1] = carry_diag
        acc, new = new, acc


@_jit(parallel=True)
def backward(mode, x, y, ix, iy, nlen, mlen, band, g, W, G, gx, gy):
    """E-matrix backward: ``G[p] = g[p] * E`` (cost mode) or per-pair input gradients ``gx[p]``, ``gy[p]``.

    ``G``/``gx``/``gy`` must be zero-initialised (cells outside a pair's lengths/band are not written).
    """
    for p in prange(ix.shape[0]):
        _backward_pair(p, mode, x, y, ix, iy, nlen, mlen, band, g, W, G, gx, gy)
