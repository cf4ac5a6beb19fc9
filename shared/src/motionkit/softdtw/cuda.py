"""Numba CUDA kernels for soft-DTW: one thread block per pair, any sequence length, any batch size.

Same conventions as :mod:`motionkit.softdtw.cpu` (pairs, modes, band, stored softmin weights w_up/w_left
and the exp-free E-matrix backward); read its docstring first.

Schedule (forward). A block of ``T`` threads handles pair p; with ``Tp = min(T, m)`` active threads the
rows are cut into strips of ``Tp`` rows and thread ``t`` owns rows ``t, t + Tp, t + 2 Tp, ...``. Thread t
computes cell ``(q Tp + t, j)`` at step ``s = q m + t + j``: inside a strip this is the anti-diagonal
wavefront (thread t runs one column behind thread t - 1), and strip q + 1 starts m steps after strip q,
so consecutive strips are pipelined and the block is busy for ``ceil(n / Tp) m + Tp - 1`` steps, with
one ``syncthreads`` per step. Nothing limits n or m (the peer pytorch-softdtw-cuda uses one thread per row
and stops at 1024).

On-chip wavefront: each thread keeps R[i, j-1] (left) and R[i-1, j-1] (diag) in registers and reads
R[i-1, j] from its neighbour through a double-buffered shared-memory slot. Only the last row of a strip
crosses to the next strip, through a per-pair row buffer in global memory (one write and one read per
column per strip). The (N, M) cost matrix is never built in the fused modes (sqeuclidean / dot).

Stored weights are laid out so that the threads of a warp write (forward) and read (backward) consecutive
addresses at every step: cell (q Tp + t, j) lives at ``q m Tp + ((j + t) mod m) r_q + t`` where
``r_q = min(Tp, n - q Tp)`` (rows in strip q); the pair's block is exactly n m entries.

Backward: the same schedule run in reverse. Thread t receives E w_up and E w_diag pushed by the cell
below it (thread t + 1, or the next strip through two global row buffers) and keeps E w_left of its
right neighbour in a register; per-pair input gradients are accumulated without atomics (at every step
the active threads of a block touch distinct rows and distinct columns).

Precision: kernels compute in the dtype of the inputs (float32: ``__expf``/``__logf`` fast intrinsics;
float64: full precision). The simulator (``NUMBA_ENABLE_CUDASIM=1``) runs these same kernels on CPU, which
is how they are tested without a GPU.
"""

from __future__ import annotations

import math
import warnings

import numpy

# numba's CUDA target still refers to numpy.row_stack, which numpy 2.5 removed (it was an alias of vstack,
# deprecated since numpy 2.0). Restore the alias before numba.cuda compiles anything.
if not hasattr(numpy, "row_stack"):
    numpy.row_stack = numpy.vstack

import numba  # noqa: E402
from numba import cuda  # noqa: E402
from numba.core.errors import NumbaPerformanceWarning  # noqa: E402

MODE_COST = 0
MODE_SQEUCLIDEAN = 1
MODE_DOT = 2
MAX_THREADS = 256  # threads per block (upper bound; fewer when sequences are short)


def _band_limits(n, m, band):
    if band < 0:
        return -m, n
    # (explicit conditionals: numba's CUDA target cannot compile the vararg min()/max() overloads)
    extra_m = m - n if m > n else 0
    extra_n = n - m if n > m else 0
    return -band - extra_m, band + extra_n


def _make_kernels(ft):
    """Forward/backward kernels computing in numba float type ``ft`` (float32 or float64)."""
    simulator = bool(numba.config.ENABLE_CUDASIM)
    if ft == numba.float32 and not simulator:
        from numba.cuda import libdevice

        exp_, log_, div_ = libdevice.fast_expf, libdevice.fast_logf, libdevice.fast_fdividef
    else:
        exp_, log_ = math.exp, math.log

        @cuda.jit(device=True)
        def div_(a, b):
            return a / b
    INF = math.inf
    SLOTS = MAX_THREADS
    SHARED = 2 * MAX_THREADS  # double-buffered slots (a compile-time constant for cuda.shared.array)

    band_limits = cuda.jit(device=True)(_band_limits)

    @cuda.jit(device=True)
    def pair_geometry(pairs, p, band):
        """Block ``p``'s pair: (x index, y index, n, m, threads per strip, wavefront steps, band lo, band hi)."""
        n = pairs[p, 2]
        m = pairs[p, 3]
        bd = numba.int64(cuda.blockDim.x)
        tp = bd if bd < m else m  # (numba's CUDA min() rejects mixed int32/int64)
        steps = ((n + tp - 1) // tp - 1) * m + tp - 1 + m
        lo, hi = band_limits(n, m, band)
        return pairs[p, 0], pairs[p, 1], n, m, tp, steps, lo, hi

    @cuda.jit(device=True)
    def local_cost(mode, C, x, y, p, xi, yi, i, j):
        if mode == MODE_COST:
            return C[p, i, j]
        acc = ft(0.0)
        if mode == MODE_SQEUCLIDEAN:
            for d in range(x.shape[2]):
                df = x[xi, i, d] - y[yi, j, d]
                acc += df * df
            return acc
        for d in range(x.shape[2]):
            acc += x[xi, i, d] * y[yi, j, d]
        return ft(1.0) - acc

    # Thread t works on cell (q tp + t, j) at step s = q m + t + j; (q, j) are advanced by one step at a
    # time (no integer division in the loop), j < 0 / q < 0 meaning "not started" / "finished".

    @cuda.jit(device=True)
    def weight_index(q, t, j, tp, n, m):
        rq = n - q * tp
        rq = tp if tp < rq else rq
        jj = j + t
        if jj >= m:
            jj -= m
        return q * m * tp + jj * rq + t

    @cuda.jit
    def forward(mode, C, x, y, pairs, gamma, band, out, W, store, rowbuf):
        sh = cuda.shared.array(SHARED, ft)
        p = cuda.blockIdx.x
        t = cuda.threadIdx.x
        xi, yi, n, m, tp, steps, lo, hi = pair_geometry(pairs, p, band)
        g = ft(gamma)
        inv_g = ft(1.0) / g
        inf = ft(INF)
        left = inf
        up_prev = inf
        q = 0
        j = -t - 1
        for s in range(steps):
            val = inf
            j += 1
            if j == m:
                j = 0
                q += 1
            i = q * tp + t
            if t < tp and j >= 0 and i < n:
                if t == 0:
                    up = rowbuf[p, j] if q > 0 else inf
                else:
                    up = sh[((s - 1) & 1) * SLOTS + t - 1]
                if j == 0:
                    diag = ft(0.0) if i == 0 else inf
                    left = inf
                else:
                    diag = up_prev
                up_prev = up
                if lo <= i - j <= hi:
                    r = diag if diag < up else up
                    r = left if left < r else r
                    wu = ft(0.0)
                    wl = ft(0.0)
                    if r < inf:
                        ed = exp_((r - diag) * inv_g)
                        eu = exp_((r - up) * inv_g)
                        el = exp_((r - left) * inv_g)
                        tot = ed + eu + el
                        val = local_cost(mode, C, x, y, p, xi, yi, i, j) + r - g * log_(tot)
                        inv_tot = div_(ft(1.0), tot)
                        wu = eu * inv_tot
                        wl = el * inv_tot
                    if store:
                        w = weight_index(q, t, j, tp, n, m)
                        W[p, 0, w] = wu
                        W[p, 1, w] = wl
                left = val
                if t == tp - 1:
                    rowbuf[p, j] = val
                if i == n - 1 and j == m - 1:
                    out[p] = val
            sh[(s & 1) * SLOTS + t] = val
            cuda.syncthreads()

    @cuda.jit
    def backward(mode, x, y, pairs, band, gout, W, G, gx, gy, rowbuf_u, rowbuf_d):
        shu = cuda.shared.array(SHARED, ft)
        shd = cuda.shared.array(SHARED, ft)
        p = cuda.blockIdx.x
        t = cuda.threadIdx.x
        xi, yi, n, m, tp, steps, lo, hi = pair_geometry(pairs, p, band)
        zero = ft(0.0)
        carry_l = zero  # E[i, j+1] w_left[i, j+1]
        carry_d = zero  # E[i+1, j+1] w_diag[i+1, j+1]
        local = steps - t  # one step past the last, advanced below
        q = local // m if local >= 0 else -1
        j = local - q * m if local >= 0 else 0
        for s in range(steps - 1, -1, -1):
            pu = zero
            pd = zero
            j -= 1
            if j < 0:
                j = m - 1
                q -= 1
            i = q * tp + t
            if t < tp and q >= 0 and i < n:
                if j == m - 1:
                    carry_l = zero
                    carry_d = zero
                from_u = zero
                from_d = zero
                if i + 1 < n:
                    if t == tp - 1:
                        from_u = rowbuf_u[p, j]
                        from_d = rowbuf_d[p, j]
                    else:
                        slot = ((s + 1) & 1) * SLOTS + t + 1
                        from_u = shu[slot]
                        from_d = shd[slot]
                e = from_u + carry_l + carry_d
                if i == n - 1 and j == m - 1:
                    e = ft(gout[p])
                carry_d = from_d
                carry_l = zero
                if lo <= i - j <= hi:
                    w = weight_index(q, t, j, tp, n, m)
                    wu = W[p, 0, w]
                    wl = W[p, 1, w]
                    wd = ft(1.0) - wu - wl
                    wd = wd if wd > zero else zero
                    pu = e * wu
                    pd = e * wd
                    carry_l = e * wl
                    if mode == MODE_COST:
                        G[p, i, j] = e
                    elif mode == MODE_SQEUCLIDEAN:
                        for d in range(x.shape[2]):
                            v = ft(2.0) * e * (x[xi, i, d] - y[yi, j, d])
                            gx[p, i, d] += v
                            gy[p, j, d] -= v
                    else:
                        for d in range(x.shape[2]):
                            gx[p, i, d] -= e * y[yi, j, d]
                            gy[p, j, d] -= e * x[xi, i, d]
                if t == 0 and i > 0:
                    rowbuf_u[p, j] = pu
                    rowbuf_d[p, j] = pd
            shu[(s & 1) * SLOTS + t] = pu
            shd[(s & 1) * SLOTS + t] = pd
            cuda.syncthreads()

    return forward, backward


_KERNELS: dict = {}


def kernels(dtype):
    """(forward, backward) CUDA kernels for numpy dtype float32 or float64 (compiled lazily, cached)."""
    key = numpy.dtype(dtype).name
    if key not in _KERNELS:
        _KERNELS[key] = _make_kernels(numba.float32 if key == "float32" else numba.float64)
    return _KERNELS[key]


def block_threads(max_m: int, threads: int | None = None) -> int:
    """Threads per block: enough warps to cover the longest column sequence, at most MAX_THREADS."""
    if threads is not None:
        return max(1, min(int(threads), MAX_THREADS))
    return max(32, min(MAX_THREADS, (int(max_m) + 31) // 32 * 32))  # (host code: plain Python)


def launch_forward(mode, C, x, y, pairs, gamma, band, out, W, store, rowbuf, max_m, threads=None, stream=0):
    """Launch the forward kernel on arrays numba accepts (device arrays; numpy arrays in the simulator).

    ``pairs`` (P, 4) int64 rows (x index, y index, n, m); ``W``: (P, 2, N*M) weights (written if
    ``store``); ``rowbuf``: (P, M) scratch; ``out``: (P,) values.
    """
    fwd, _ = kernels(out.dtype)
    P = pairs.shape[0]
    with warnings.catch_warnings():  # "low occupancy" for small batches is expected, not the user's problem
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        fwd[P, block_threads(max_m, threads), stream](mode, C, x, y, pairs, float(gamma), int(band), out, W,
                                                       bool(store), rowbuf)


def launch_backward(mode, x, y, pairs, band, gout, W, G, gx, gy, rowbuf_u, rowbuf_d, max_m, threads=None, stream=0):
    """Launch the backward kernel; ``G``/``gx``/``gy`` must be zero-initialised, ``threads`` as in forward."""
    _, bwd = kernels(W.dtype)
    P = pairs.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        bwd[P, block_threads(max_m, threads), stream](mode, x, y, pairs, int(band), gout, W, G, gx, gy, rowbuf_u,
                                                       rowbuf_d)


# ------------------------------------------------------------------------------------------- torch glue
def _dev(t):
    return cuda.as_cuda_array(t.detach(), sync=False)


_STREAMS: dict = {}
_DUMMIES: dict = {}


def _stream():
    """numba view of torch's current CUDA stream (cached per stream handle)."""
    import torch

    handle = torch.cuda.current_stream().cuda_stream
    if handle not in _STREAMS:
        _STREAMS[handle] = cuda.external_stream(handle)
    return _STREAMS[handle]


def _dummy(device, dtype):
    """A cached (1, 1, 1) zero array for the kernel arguments a mode does not use: (tensor, numba view)."""
    import torch

    key = (str(device), dtype)
    if key not in _DUMMIES:
        t = torch.zeros((1, 1, 1), dtype=dtype, device=device)
        _DUMMIES[key] = (t, _dev(t))
    return _DUMMIES[key]


def _pairs(ix, iy, nlen, mlen):
    import torch

    return torch.stack([ix, iy, nlen, mlen], dim=1).to(torch.int64).contiguous()


def run_forward(mode, a, b, ix, iy, nlen, mlen, gamma, band, store):
    """Torch CUDA tensors in, (values (P,), weights or None) out, on torch's current stream."""
    import torch

    P = ix.shape[0]
    dev, dt = a.device, a.dtype
    a = a.contiguous()
    dummy = _dummy(dev, dt)[1]
    if mode == MODE_COST:
        C, x, y = _dev(a), dummy, dummy
        N, M = a.shape[1], a.shape[2]
    else:
        b = b.contiguous()
        C, x, y = dummy, _dev(a), _dev(b)
        N, M = a.shape[1], b.shape[1]
    out = torch.empty(P, dtype=dt, device=dev)
    W = torch.empty((P, 2, N * M) if store else (1, 2, 1), dtype=dt, device=dev)
    rowbuf = torch.empty((P, M), dtype=dt, device=dev)
    launch_forward(mode, C, x, y, _dev(_pairs(ix, iy, nlen, mlen)), gamma, band, _dev(out), _dev(W), store,
                   _dev(rowbuf), M, stream=_stream())
    return out, (W if store else None)


def run_backward(mode, a, b, ix, iy, nlen, mlen, band, grad_out, W):
    """Gradients (cost: dC (P,N,M), None; fused: per-pair dx (P,N,D), dy (P,M,D))."""
    import torch

    P = ix.shape[0]
    dev, dt = a.device, a.dtype
    a = a.contiguous()
    gout = grad_out.detach().to(dt).contiguous()
    dummy = _dummy(dev, dt)[1]
    if mode == MODE_COST:
        G = torch.zeros_like(a)
        x = y = gx = gy = dummy
        M = a.shape[2]
        G_d, gx_d, gy_d = _dev(G), dummy, dummy
    else:
        b = b.contiguous()
        x, y = _dev(a), _dev(b)
        gx = torch.zeros((P, a.shape[1], a.shape[2]), dtype=dt, device=dev)
        gy = torch.zeros((P, b.shape[1], b.shape[2]), dtype=dt, device=dev)
        M = b.shape[1]
        G_d, gx_d, gy_d = dummy, _dev(gx), _dev(gy)
    rows = torch.empty((2, P, M), dtype=dt, device=dev)
    launch_backward(mode, x, y, _dev(_pairs(ix, iy, nlen, mlen)), band, _dev(gout), _dev(W), G_d, gx_d, gy_d,
                    _dev(rows[0]), _dev(rows[1]), M, stream=_stream())
    if mode == MODE_COST:
        return G, None
    return gx, gy
