"""The ``torch.autograd.Function`` behind every soft-DTW entry point, dispatching to the CPU or CUDA kernels.

The Function is differentiable once: its backward is the E-matrix recursion, not itself differentiable.
Asking for a second derivative (``create_graph=True`` and then differentiating the gradient) raises a
``RuntimeError`` that says so.
"""

from __future__ import annotations

import numpy as np
import torch

from . import cpu

MODES = {"cost": cpu.MODE_COST, "sqeuclidean": cpu.MODE_SQEUCLIDEAN, "dot": cpu.MODE_DOT}
DOUBLE_BACKWARD_MESSAGE = (
    "motionkit.softdtw: double backward is not supported (the soft-DTW backward pass is not differentiable)"
)


def _np(t: torch.Tensor, dtype=None) -> np.ndarray:
    """CPU tensor -> C-contiguous numpy array (converted by numpy: torch's OpenMP pool stays asleep)."""
    return np.ascontiguousarray(t.detach().numpy(), dtype=dtype)


def _run_cpu(mode, a, b, ix, iy, nlen, mlen, gamma, band, store):
    """Forward on CPU. Returns (values float64 numpy (P,), weights numpy or None)."""
    P = ix.shape[0]
    wdtype = np.float32 if a.dtype == torch.float32 else np.float64
    if mode == cpu.MODE_COST:
        C = _np(a, np.float64)
        x = y = np.zeros((1, 1, 1))
        N, M = C.shape[1], C.shape[2]
    else:
        C = np.zeros((1, 1, 1))
        x, y = _np(a, np.float64), _np(b, np.float64)
        N, M = x.shape[1], y.shape[1]
    out = np.empty(P, dtype=np.float64)
    W = np.empty((P, 2, N * M + cpu.PAD) if store else (1, 2, 1), dtype=wdtype)
    cpu.run_pairs(cpu.forward_pairs, P, mode, C, x, y, _np(ix), _np(iy), _np(nlen), _np(mlen), float(gamma),
                  int(band), out, W, store)
    return out, (W if store else None)


def _backward_cpu(mode, a, b, ix, iy, nlen, mlen, band, g, W):
    P = ix.shape[0]
    g = _np(g, np.float64)
    if mode == cpu.MODE_COST:
        G = np.zeros(tuple(a.shape), dtype=np.float64)
        x = y = np.zeros((1, 1, 1))
        gx = gy = np.zeros((1, 1, 1))
    else:
        G = np.zeros((1, 1, 1))
        x, y = _np(a, np.float64), _np(b, np.float64)
        gx = np.zeros((P, x.shape[1], x.shape[2]))
        gy = np.zeros((P, y.shape[1], y.shape[2]))
    cpu.run_pairs(cpu.backward_pairs, P, mode, x, y, _np(ix), _np(iy), _np(nlen), _np(mlen), int(band), g, W, G, gx, gy)
    if mode == cpu.MODE_COST:
        return _torch(G, a.dtype), None
    return _torch(gx, a.dtype), _torch(gy, b.dtype)


def _torch(arr: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(arr.astype(np.float32 if dtype == torch.float32 else np.float64, copy=False))


class SoftDTWFunction(torch.autograd.Function):
    """values (P,) = soft-DTW of each pair.

    ``mode == "cost"``: ``a`` is the cost tensor (P, N, M), ``b`` is None and ``ix == iy == arange(P)``.
    Otherwise ``a`` is x (B1, N, D), ``b`` is y (B2, M, D) and pair p aligns ``a[ix[p]]`` with ``b[iy[p]]``.
    ``nlen``/``mlen`` (P,) int64 are the per-pair lengths, ``band`` the Sakoe-Chiba radius (-1 = none).
    """

    @staticmethod
    def forward(ctx, mode_name, a, b, ix, iy, nlen, mlen, gamma, band):
        mode = MODES[mode_name]
        store = bool(ctx.needs_input_grad[1] or ctx.needs_input_grad[2])
        if a.is_cuda:
            from . import cuda as cuda_kernels

            values, W = cuda_kernels.run_forward(mode, a, b, ix, iy, nlen, mlen, gamma, band, store)
        else:
            values, W = _run_cpu(mode, a, b, ix, iy, nlen, mlen, gamma, band, store)
            values = _torch(values, a.dtype)
            W = torch.from_numpy(W) if W is not None else None
        ctx.mode = mode
        ctx.band = band
        if store:
            ctx.save_for_backward(a, b, ix, iy, nlen, mlen, W)
        return values

    @staticmethod
    def backward(ctx, grad_out):
        create_graph = torch.is_grad_enabled()
        with torch.no_grad():
            grads = SoftDTWFunction._backward(ctx, grad_out)
        if create_graph:
            grads = _poison_for_double_backward(grads)
        return grads

    @staticmethod
    def _backward(ctx, grad_out):
        a, b, ix, iy, nlen, mlen, W = ctx.saved_tensors
        if a.is_cuda:
            from . import cuda as cuda_kernels

            ga, gb = cuda_kernels.run_backward(ctx.mode, a, b, ix, iy, nlen, mlen, ctx.band, grad_out, W)
        else:
            ga, gb = _backward_cpu(ctx.mode, a, b, ix, iy, nlen, mlen, ctx.band, grad_out, W.numpy())
        if ctx.mode != cpu.MODE_COST:
            ga, gb = _scatter_pairs(ga, ix, a), _scatter_pairs(gb, iy, b)
        return None, ga, gb, None, None, None, None, None, None


def _poison_for_double_backward(grads):
    """With ``create_graph=True``, return gradients whose own backward raises DOUBLE_BACKWARD_MESSAGE.

    (The same device as ``torch.autograd.function.once_differentiable``, with our message.) If the private
    hook is missing in a future torch, raise at once instead.
    """
    delayed_error = getattr(getattr(torch._C, "_functions", None), "DelayedError", None)
    if delayed_error is None:
        raise RuntimeError(DOUBLE_BACKWARD_MESSAGE)
    idx = [k for k, g in enumerate(grads) if g is not None]
    err_fn = delayed_error(DOUBLE_BACKWARD_MESSAGE.encode(), len(idx))
    poisoned = err_fn(*[grads[k].detach().requires_grad_(True) for k in idx])
    if not isinstance(poisoned, tuple):
        poisoned = (poisoned,)
    out = list(grads)
    for k, g in zip(idx, poisoned):
        out[k] = g
    return tuple(out)


def _scatter_pairs(g_pairs: torch.Tensor, idx: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum per-pair gradients (P, L, D) into the gradient of the sequences they index (B, L, D)."""
    P, B = idx.shape[0], like.shape[0]
    if P == B and bool((idx == torch.arange(B, device=idx.device)).all()):
        return g_pairs
    out = torch.zeros_like(like)
    out.index_add_(0, idx, g_pairs)
    return out
