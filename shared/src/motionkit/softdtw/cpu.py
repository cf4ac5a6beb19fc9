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

  (log-sum-exp with the minimum subtracted: every exponent is <= 0 and the sum lies in [1, 3], so nothing
  overflows whatever the scale of the costs).
* The forward pass stores, per cell, the softmin weights of the *up* (i-1, j) and *left* (i, j-1)
  predecessors, ``w_up`` and ``w_left``; the diagonal weight is ``1 - w_up - w_left``. These are exactly the
  factors ``exp((R[pred] - R[cell] + c(cell)) / g)`` of the E-matrix recursion, so the backward pass needs
  no exp/log at all::

      E[n-1, m-1] = 1;   E[i, j] = E[i+1, j] w_up[i+1, j] + E[i, j+1] w_left[i, j+1] + E[i+1, j+1] w_diag[i+1, j+1]

  and ``dR[n-1, m-1] / dc(i, j) = E[i, j]`` (the expected soft alignment).
* Sakoe-Chiba band of radius ``band`` (``-1`` = none), defined for unequal lengths as the parallelogram
  ``-band - max(0, m - n) <= i - j <= band + max(0, n - m)``: for n == m the classic ``|i - j| <= band``,
  otherwise the band is widened by the length difference so that a warping path always exists.
  Cells outside the band are +inf and get zero gradient.

CPU schedule: pairs run in parallel (threads, :func:`run_pairs`); inside a pair the cells are visited anti-diagonal by
anti-diagonal (``k = i + j``). The cells of one anti-diagonal are independent, so each diagonal is a plain
loop that LLVM vectorises (SIMD) -- which is why exp/log are the small branch-free polynomial versions
below rather than libm calls (those would stop vectorisation and serialise on their latency). Weights are
stored packed diagonal after diagonal (``W[p, 0|1, offset_k + i - a_k]``), so both passes stream through
memory. The local costs of a diagonal are computed from transposed copies of the two sequences (the
column sequence reversed) so that the SIMD loads are contiguous.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

MODE_COST = 0
MODE_SQEUCLIDEAN = 1
MODE_DOT = 2

LOG2E = 1.4426950408889634
LN2 = 0.6931471805599453
LN2_HI = 0.693145751953125  # Cody-Waite split of ln 2 (exact high part)
LN2_LO = 1.4286068203094173e-06
SQRT2 = 1.4142135623730951
SIMD = 8  # cell loops run a multiple of this many iterations
PAD = 2 * SIMD  # slack at the end of every scratch buffer / weight row for those extra iterations
DENSE_D = 8  # from this feature size on, a pair's (n, m) costs are computed up front (see _pair_costs)
# fastmath without 'nnan'/'ninf' (the kernels use +inf for forbidden cells); only for the dense helpers
_FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


def _jit(**kwargs):
    """``numba.njit`` with ``cache=True`` when a cache location is writable, else without caching.

    Numba refuses to decorate with ``cache=True`` when it finds no writable cache directory (read-only
    install, no writable home); we then compile at each process start instead of failing to import.
    Set MOTIONKIT_SOFTDTW_NO_CACHE=1 to disable the cache.
    """

    kwargs.setdefault("error_model", "numpy")  # no ZeroDivisionError checks: they would block SIMD

    def decorate(fn):
        if os.environ.get("MOTIONKIT_SOFTDTW_NO_CACHE") != "1":
            try:
                return numba.njit(cache=True, **kwargs)(fn)
            except (RuntimeError, OSError):  # no cache locator available
                pass
        return numba.njit(cache=False, **kwargs)(fn)

    return decorate


@intrinsic
def _int64_bits_as_float64(typingctx, v):
    """Reinterpret the bits of an int64 as a float64 (LLVM bitcast; vectorisable)."""
    if not isinstance(v, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        val = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(val, ir.DoubleType())

    return types.float64(v), codegen


@_jit(inline="always")
def exp_nonpos(t):
    """exp(t) for t <= 0 to ~3e-13 relative; 0 for t < -708, -inf and NaN. Branch-free, vectorisable."""
    ok = t > -708.0
    t = t if ok else 0.0
    nf = math.floor(t * LOG2E + 0.5)
    u = (t - nf * LN2_HI) - nf * LN2_LO  # |u| <= ln2 / 2
    # Taylor series of exp(u) to degree 10 (truncation < 3e-13 on |u| <= 0.347), Horner form
    p = 1.0 / 3628800.0
    p = p * u + 1.0 / 362880.0
    p = p * u + 1.0 / 40320.0
    p = p * u + 1.0 / 5040.0
    p = p * u + 1.0 / 720.0
    p = p * u + 1.0 / 120.0
    p = p * u + 1.0 / 24.0
    p = p * u + 1.0 / 6.0
    p = p * u + 0.5
    p = p * u + 1.0
    p = p * u + 1.0
    scale = _int64_bits_as_float64((np.int64(nf) + 1023) << 52)  # 2**nf, nf in [-1021, 0]
    return p * scale if ok else 0.0


@_jit(inline="always")
def log_1_3(s):
    """log(s) for s in [1, 3] to ~1e-14 absolute: log(m) = 2 atanh((m-1)/(m+1)) after s = 2^e m."""
    big = s > SQRT2
    m = s * 0.5 if big else s  # m in [0.707, 1.5]
    z = (m - 1.0) / (m + 1.0)  # |z| <= 0.2
    w = z * z
    # atanh(z) / z = sum_k w^k / (2k + 1), truncated after w^8 (< 1e-14 for |z| <= 0.2)
    p = 1.0 / 17.0
    p = p * w + 1.0 / 15.0
    p = p * w + 1.0 / 13.0
    p = p * w + 1.0 / 11.0
    p = p * w + 1.0 / 9.0
    p = p * w + 1.0 / 7.0
    p = p * w + 1.0 / 5.0
    p = p * w + 1.0 / 3.0
    p = p * w + 1.0
    return (LN2 if big else 0.0) + 2.0 * z * p


@_jit(inline="always")
def _pad(cnt):
    """max(cnt, 0) rounded up to a multiple of SIMD."""
    return (max(cnt, 0) + SIMD - 1) // SIMD * SIMD


@_jit(inline="always")
def band_limits(n, m, band):
    """Inclusive limits (lo, hi) on ``i - j`` for a pair of lengths (n, m); ``band < 0`` means no band."""
    if band < 0:
        return -m, n
    return -band - max(0, m - n), band + max(0, n - m)


@_jit(inline="always")
def diag_range(k, n, m, lo, hi):
    """Rows [a, b] of the in-band cells on anti-diagonal k (empty when a > b)."""
    a = max(max(0, k - m + 1), -((-(k + lo)) // 2))  # ceil((k + lo) / 2)
    b = min(min(n - 1, k), (k + hi) // 2)
    return a, b


@_jit(inline="always")
def _load_pair(x, y, xi, yi, n, m):
    """Transposed row sequence xt[d, i] = x[xi, i, d] and reversed column sequence yr[d, m-1-j] = y[yi, j, d]."""
    dim = x.shape[2]
    xt = np.zeros((dim, n + PAD))
    yr = np.zeros((dim, m + PAD))
    for i in range(n):
        for d in range(dim):
            xt[d, i] = x[xi, i, d]
    for j in range(m):
        for d in range(dim):
            yr[d, m - 1 - j] = y[yi, j, d]
    return xt, yr


@_jit(inline="always")
def _diag_costs(mode, C, p, xt, yr, k, a, b, m, cbuf):
    """Local costs of cells (i, k - i), i in [a, b], into cbuf[0 : b - a + 1]."""
    cnt = b - a + 1
    if mode == MODE_COST:
        for t in range(cnt):
            cbuf[t] = C[p, a + t, k - a - t]
        return
    # yr index of column j = k - i is s + i with s = m - 1 - k; padded cells read (finite) values past the
    # diagonal from the PAD slack of xt/yr.
    cp = _pad(cnt)
    xa = np.uint64(a)
    ya = np.uint64(m - 1 - k + a)
    init = 0.0 if mode == MODE_SQEUCLIDEAN else 1.0
    for t in range(cp):
        cbuf[t] = init
    for d in range(xt.shape[0]):
        xr = xt[d]
        yrr = yr[d]
        if mode == MODE_SQEUCLIDEAN:
            for t in range(cp):
                df = xr[xa + np.uint64(t)] - yrr[ya + np.uint64(t)]
                cbuf[t] += df * df
        else:
            for t in range(cp):
                cbuf[t] -= xr[xa + np.uint64(t)] * yrr[ya + np.uint64(t)]


@_jit(inline="always")
def _columns(y, yi, m):
    """yt[d, j] = y[yi, j, d] for j < m: the column sequence transposed, so loops over j are contiguous."""
    dim = y.shape[2]
    yt = np.empty((dim, m))
    for j in range(m):
        for d in range(dim):
            yt[d, j] = y[yi, j, d]
    return yt


@_jit(fastmath=_FASTMATH)
def _pair_costs(mode, x, y, xi, yi, n, m):
    """(1, n, m) local costs of one pair, used for D >= DENSE_D. Row i accumulates feature after feature with
    the column index innermost (contiguous, SIMD over j); squared differences are summed directly (no
    ||x||^2 + ||y||^2 - 2 x.y cancellation)."""
    dim = x.shape[2]
    yt = _columns(y, yi, m)
    out = np.empty((1, n, m))
    for i in range(n):
        row = out[0, i]
        for j in range(m):
            row[j] = 0.0 if mode == MODE_SQEUCLIDEAN else 1.0
        for d in range(dim):
            xv = x[xi, i, d]
            yr = yt[d]
            if mode == MODE_SQEUCLIDEAN:
                for j in range(m):
                    df = xv - yr[j]
                    row[j] += df * df
            else:
                for j in range(m):
                    row[j] -= xv * yr[j]
    return out


@_jit(fastmath=_FASTMATH)
def _pair_grads(mode, x, y, xi, yi, n, m, E, gx, gy, p):
    """Input gradients of one pair from its E matrix (1, n, m), d c(i, j) / d x_i and / d y_j summed:
    sqeuclidean ``gx_i = 2 sum_j E_ij (x_i - y_j)``, ``gy_j = -2 sum_i E_ij (x_i - y_j)``; dot ``gx_i = -sum_j
    E_ij y_j``, ``gy_j = -sum_i E_ij x_i``. One pass over j (contiguous) per (i, d)."""
    dim = x.shape[2]
    yt = _columns(y, yi, m)
    gyt = np.zeros((dim, m))
    for i in range(n):
        er = E[0, i]
        for d in range(dim):
            xv = x[xi, i, d]
            yr = yt[d]
            gr = gyt[d]
            acc = 0.0
            if mode == MODE_SQEUCLIDEAN:
                for j in range(m):
                    v = 2.0 * er[j] * (xv - yr[j])
                    acc += v
                    gr[j] -= v
            else:
                for j in range(m):
                    acc -= er[j] * yr[j]
                    gr[j] -= er[j] * xv
            gx[p, i, d] = acc
    for j in range(m):
        for d in range(dim):
            gy[p, j, d] = gyt[d, j]


@_jit()
def _forward_pair(p, mode, C, x, y, ix, iy, nlen, mlen, gamma, band, out, W, store):
    n = nlen[p]
    m = mlen[p]
    lo, hi = band_limits(n, m, band)
    inv_g = 1.0 / gamma
    inf = np.inf
    dense = mode != MODE_COST and x.shape[2] >= DENSE_D
    cmode, Csrc, pc = mode, C, p
    if mode == MODE_COST or dense:
        xt = np.empty((0, 0))
        yr = np.empty((0, 0))
        if dense:
            cmode, Csrc, pc = MODE_COST, _pair_costs(mode, x, y, ix[p], iy[p], n, m), 0
    else:
        xt, yr = _load_pair(x, y, ix[p], iy[p], n, m)
    cbuf = np.zeros(n + PAD)
    # Weights go to W[p] (packed by diagonal), or to a per-diagonal scratch when not stored: either way
    # the cell loop is the same branch-free loop (so it vectorises in both cases).
    Wp = W[p] if store else np.empty((2, n + PAD), dtype=W.dtype)
    # Rk[i + 1] = R[i, k - i] on diagonals k (R0), k - 1 (R1), k - 2 (R2); index 0 is row -1.
    R0 = np.full(n + 2 + PAD, inf)
    R1 = np.full(n + 2 + PAD, inf)
    R2 = np.full(n + 2 + PAD, inf)
    R2[0] = 0.0  # R[-1, -1] lies on diagonal -2
    off = 0
    for k in range(n + m - 1):
        a, b = diag_range(k, n, m, lo, hi)
        _diag_costs(cmode, Csrc, pc, xt, yr, k, a, b, m, cbuf)
        wo = np.uint64(off if store else 0)  # unsigned indices: no negative-index fix-up in the SIMD loop
        # Trip count rounded up to the SIMD width: the extra cells compute harmless garbage past the diagonal
        # (never read: see the boundary entries below) instead of running a slow scalar remainder loop.
        for t in range(_pad(b - a + 1)):
            i = np.uint64(a + t)
            rd = R2[i]
            ru = R1[i]
            rl = R1[i + np.uint64(1)]
            r = min(rd, min(ru, rl))
            fin = r < inf
            r = r if fin else 0.0
            ed = exp_nonpos((r - rd) * inv_g)
            eu = exp_nonpos((r - ru) * inv_g)
            el = exp_nonpos((r - rl) * inv_g)
            s = ed + eu + el
            s = s if fin else 1.0
            val = cbuf[np.uint64(t)] + r - gamma * log_1_3(s)
            R0[i + np.uint64(1)] = val if fin else inf
            inv_s = 1.0 / s
            Wp[0, wo + np.uint64(t)] = eu * inv_s
            Wp[1, wo + np.uint64(t)] = el * inv_s
        R0[a] = inf
        R0[b + 2] = inf
        off += max(b - a + 1, 0)
        R0, R1, R2 = R2, R0, R1
    out[p] = R1[n]
    if store:  # the backward pass reads (and multiplies by 0) up to PAD entries past the last diagonal
        for c in range(2):
            for t in range(PAD):
                Wp[c, off + t] = 0.0


@_jit(nogil=True)
def forward_pairs(first, step, mode, C, x, y, ix, iy, nlen, mlen, gamma, band, out, W, store):
    """Pairs first, first + step, ...: soft-DTW values into ``out`` (float64) and, if ``store``, softmin
    weights into ``W`` (P, 2, N*M + PAD). Releases the GIL (threads of :func:`run_pairs` run it)."""
    for p in range(first, ix.shape[0], step):
        _forward_pair(p, mode, C, x, y, ix, iy, nlen, mlen, gamma, band, out, W, store)


@_jit()
def _backward_pair(p, mode, x, y, ix, iy, nlen, mlen, band, g, W, G, gx, gy):
    n = nlen[p]
    m = mlen[p]
    lo, hi = band_limits(n, m, band)
    dim = x.shape[2]
    dense = mode != MODE_COST and dim >= DENSE_D
    emode, Gt, pg = mode, G, p  # dense: E goes to a per-pair matrix first, gradients at the end
    if mode == MODE_COST or dense:
        xt = np.empty((0, 0))
        yr = np.empty((0, 0))
        if dense:
            emode, Gt, pg = MODE_COST, np.zeros((1, n, m)), 0
    else:
        xt, yr = _load_pair(x, y, ix[p], iy[p], n, m)
    gxt = np.zeros_like(xt)
    gyr = np.zeros_like(yr)
    Wp = W[p]
    # Ek[i + 1] = E[i, k - i] on diagonals k (E0), k + 1 (E1), k + 2 (E2); zero outside the diagonal's rows.
    E0 = np.zeros(n + 2 + PAD)
    E1 = np.zeros(n + 2 + PAD)
    E2 = np.zeros(n + 2 + PAD)
    K = n + m - 2
    total = 0
    for k in range(K + 1):
        a, b = diag_range(k, n, m, lo, hi)
        total += max(b - a + 1, 0)
    # Packed-weight offsets (minus the first row) of diagonals k + 1 and k + 2.
    o1 = total
    o2 = total
    a1 = n
    a2 = n
    off = total
    for k in range(K, -1, -1):
        a, b = diag_range(k, n, m, lo, hi)
        off -= max(b - a + 1, 0)
        if k == K:
            E0[n] = g[p]  # seed: E[n-1, m-1] = dOut/dR[n-1, m-1]
        else:
            # W index of row r on diagonal k + 1 is o1 - a1 + r (>= 0 for the rows read: r >= a1 - 1, o1 >= 1)
            w1 = np.uint64(o1 - a1 + a)
            w2 = np.uint64(o2 - a2 + a)
            ua = np.uint64(a)
            one = np.uint64(1)
            for t in range(_pad(b - a + 1)):
                u = np.uint64(t)
                r1 = ua + u + one  # E index of row i = a + t
                wd = max(1.0 - Wp[0, w2 + u + one] - Wp[1, w2 + u + one], 0.0)
                E0[r1] = E1[r1 + one] * Wp[0, w1 + u + one] + E1[r1] * Wp[1, w1 + u] + E2[r1 + one] * wd
        E0[a] = 0.0
        E0[b + 2] = 0.0  # (also clears what padded iterations wrote past the diagonal, see below)
        for t in range(b + 3, min(b + 3 + SIMD, n + 2 + PAD)):
            E0[t] = 0.0
        if emode == MODE_COST:
            for i in range(a, b + 1):
                Gt[pg, i, k - i] = E0[i + 1]
        else:
            xa = np.uint64(a)
            ya = np.uint64(m - 1 - k + a)
            cnt = max(b - a + 1, 0)
            for d in range(dim):
                xr = xt[d]
                yrr = yr[d]
                gxr = gxt[d]
                gyrr = gyr[d]
                if mode == MODE_SQEUCLIDEAN:
                    for t in range(cnt):
                        u = np.uint64(t)
                        v = 2.0 * E0[xa + u + np.uint64(1)] * (xr[xa + u] - yrr[ya + u])
                        gxr[xa + u] += v
                        gyrr[ya + u] -= v
                else:
                    for t in range(cnt):
                        u = np.uint64(t)
                        gxr[xa + u] -= E0[xa + u + np.uint64(1)] * yrr[ya + u]
                        gyrr[ya + u] -= E0[xa + u + np.uint64(1)] * xr[xa + u]
        o2, a2 = o1, a1
        o1, a1 = off, a
        E0, E1, E2 = E2, E0, E1
    if dense:
        _pair_grads(mode, x, y, ix[p], iy[p], n, m, Gt, gx, gy, p)
    elif mode != MODE_COST:
        for i in range(n):
            for d in range(dim):
                gx[p, i, d] = gxt[d, i]
        for j in range(m):
            for d in range(dim):
                gy[p, j, d] = gyr[d, m - 1 - j]


@_jit(nogil=True)
def backward_pairs(first, step, mode, x, y, ix, iy, nlen, mlen, band, g, W, G, gx, gy):
    """Pairs first, first + step, ...: E-matrix backward, ``G[p] = g[p] * E`` (cost mode) or per-pair input
    gradients ``gx[p]``, ``gy[p]``. ``G``/``gx``/``gy`` must be zero-initialised (cells outside a pair's
    lengths/band are not written). Releases the GIL."""
    for p in range(first, ix.shape[0], step):
        _backward_pair(p, mode, x, y, ix, iy, nlen, mlen, band, g, W, G, gx, gy)


# ------------------------------------------------------------------------------------------- threading
_POOL = None
_POOL_KEY = None


def num_threads() -> int:
    """Worker threads for the pair loop: $MOTIONKIT_SOFTDTW_THREADS, else torch's intra-op thread count."""
    env = os.environ.get("MOTIONKIT_SOFTDTW_THREADS")
    if env:
        return max(1, int(env))
    try:
        import torch

        return max(1, torch.get_num_threads())
    except ImportError:  # pragma: no cover - the package path always has torch
        return max(1, os.cpu_count() or 1)


def run_pairs(kernel, n_pairs: int, *args) -> None:
    """Run ``kernel(first, step, *args)`` on ``min(num_threads(), n_pairs)`` threads, pairs interleaved.

    Plain Python threads around GIL-free kernels rather than Numba's ``parallel=True``: an OpenMP pool
    spin-waits between calls and fights torch's own OpenMP pool for the cores (measured 5-10x slowdowns
    of both on a 2-core machine), and ``prange`` kernels take much longer to compile. The pool is
    re-created after a fork (threads do not survive one).
    """
    global _POOL, _POOL_KEY
    workers = min(num_threads(), n_pairs)
    if workers <= 1:
        kernel(0, 1, *args)
        return
    key = (os.getpid(), workers)
    if _POOL is None or _POOL_KEY != key:
        if _POOL is not None and _POOL_KEY[0] == os.getpid():
            _POOL.shutdown(wait=False)
        _POOL = ThreadPoolExecutor(max_workers=workers - 1, thread_name_prefix="softdtw")
        _POOL_KEY = key
    futures = [_POOL.submit(kernel, t, workers, *args) for t in range(1, workers)]
    kernel(0, workers, *args)  # the calling thread takes a share too
    for f in futures:
        f.result()
