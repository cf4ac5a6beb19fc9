"""CUDA path of motionkit.softdtw.

* Without a GPU: the CUDA kernels run in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, in a
  subprocess because the simulator must be chosen before numba.cuda is imported), at tiny sizes and with
  tiny thread blocks so that several strips, the strip pipeline and the inter-strip row buffers are all
  exercised; results are compared with the CPU kernels (themselves checked against the float64 reference
  in test_softdtw.py) and with the reference directly.
* With a GPU (``pytest -m cuda``): values and gradients against the float64 reference and the CPU path,
  long sequences (no length limit), large batches.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from motionkit.softdtw import pairwise_soft_dtw, soft_dtw, soft_dtw_from_cost

SIM_SCRIPT = textwrap.dedent(
    r"""
    import numpy as np
    from motionkit.softdtw import cpu, cuda as kc
    from numba import cuda
    assert cuda.simulator_enabled if hasattr(cuda, "simulator_enabled") else True
    from test_softdtw import soft_dtw_ref, sqeuclidean_cost
    import torch

    rng = np.random.default_rng(0)

    def run_both(mode, C, x, y, ix, iy, nl, ml, gamma, band, threads):
        P = ix.shape[0]
        N = C.shape[1] if mode == 0 else x.shape[1]
        M = C.shape[2] if mode == 0 else y.shape[1]
        D = x.shape[2]
        out_c = np.empty(P)
        W_c = np.empty((P, 2, N * M + cpu.PAD))
        cpu.forward_pairs(0, 1, mode, C, x, y, ix, iy, nl, ml, gamma, band, out_c, W_c, True)
        g = np.linspace(0.5, 1.5, P)
        G_c = np.zeros((P, N, M) if mode == 0 else (1, 1, 1))
        gx_c = np.zeros((P, N, D)); gy_c = np.zeros((P, M, D))
        cpu.backward_pairs(0, 1, mode, x, y, ix, iy, nl, ml, band, g, W_c, G_c, gx_c, gy_c)

        out_g = np.empty(P)
        W_g = np.empty((P, 2, N * M))
        pairs = np.stack([ix, iy, nl, ml], axis=1).astype(np.int64)
        kc.launch_forward(mode, C, x, y, pairs, gamma, band, out_g, W_g, True, np.empty((P, M)), M, threads=threads)
        G_g = np.zeros_like(G_c); gx_g = np.zeros_like(gx_c); gy_g = np.zeros_like(gy_c)
        kc.launch_backward(mode, x, y, pairs, band, g, W_g, G_g, gx_g, gy_g, np.empty((P, M)), np.empty((P, M)), M,
                           threads=threads)
        np.testing.assert_allclose(out_g, out_c, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(G_g, G_c, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gx_g, gx_c, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gy_g, gy_c, rtol=1e-9, atol=1e-12)
        return out_g, gx_g, gy_g

    cases = 0
    # (B1, B2, N, M, D, band, threads): threads < m and n > threads -> several pipelined strips;
    # threads > m -> Tp = m; threads = 1 and 2 -> the degenerate schedules.
    for B1, B2, N, M, D, band, threads in [
        (2, 2, 7, 5, 2, -1, 3), (1, 1, 1, 6, 2, -1, 4), (2, 2, 6, 1, 3, -1, 4), (2, 2, 9, 8, 1, 1, 2),
        (1, 1, 5, 5, 2, 0, 1), (1, 3, 4, 9, 2, 2, 32), (2, 1, 10, 10, 2, -1, 4),
    ]:
        x = rng.normal(size=(B1, N, D)); y = rng.normal(size=(B2, M, D))
        ix = np.repeat(np.arange(B1), B2); iy = np.tile(np.arange(B2), B1)
        nl = rng.integers(1, N + 1, size=ix.shape[0]); ml = rng.integers(1, M + 1, size=ix.shape[0])
        nl[0], ml[0] = N, M
        for mode in (1, 2):
            xx, yy = x, y
            if mode == 2:
                xx = x / np.linalg.norm(x, axis=-1, keepdims=True); yy = y / np.linalg.norm(y, axis=-1, keepdims=True)
            run_both(mode, np.zeros((1, 1, 1)), xx, yy, ix, iy, nl, ml, 0.3, band, threads)
            cases += 1
        C = np.abs(rng.normal(size=(ix.shape[0], N, M)))
        run_both(0, C, np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), np.arange(ix.shape[0]), np.arange(ix.shape[0]),
                 nl, ml, 0.3, band, threads)
        cases += 1

    # independent check against the float64 reference recursion (value and gradient)
    x = rng.normal(size=(1, 6, 2)); y = rng.normal(size=(1, 7, 2))
    one = np.zeros(1, dtype=np.int64)
    out, gx, gy = run_both(1, np.zeros((1, 1, 1)), x, y, one, one, np.array([6]), np.array([7]), 0.5, -1, 3)
    xt = torch.tensor(x[0], requires_grad=True); yt = torch.tensor(y[0], requires_grad=True)
    ref = soft_dtw_ref(sqeuclidean_cost(xt, yt), 0.5)
    ref.backward()
    np.testing.assert_allclose(out[0], ref.item(), rtol=1e-10)
    np.testing.assert_allclose(gx[0] / 0.5, xt.grad.numpy(), rtol=1e-8)  # g[0] = 0.5 (linspace)
    np.testing.assert_allclose(gy[0] / 0.5, yt.grad.numpy(), rtol=1e-8)

    # float32 kernels compile and agree with float64 (simulator: plain math.exp/log)
    x32 = rng.normal(size=(2, 5, 2)).astype(np.float32); y32 = rng.normal(size=(2, 4, 2)).astype(np.float32)
    ix = np.arange(2); out32 = np.empty(2, np.float32)
    pairs = np.array([[0, 0, 5, 4], [1, 1, 5, 4]], dtype=np.int64)
    kc.launch_forward(1, np.zeros((1, 1, 1), np.float32), x32, y32, pairs, 0.1, -1, out32,
                      np.empty((2, 2, 20), np.float32), False, np.empty((2, 4), np.float32), 4, threads=2)
    out64 = np.empty(2)
    cpu.forward_pairs(0, 1, 1, np.zeros((1, 1, 1)), x32.astype(np.float64), y32.astype(np.float64), ix, ix,
                      np.array([5, 5]), np.array([4, 4]), 0.1, -1, out64, np.empty((1, 2, 1)), False)
    np.testing.assert_allclose(out32, out64, rtol=1e-5)

    # the torch glue of the CUDA path (run_forward / run_backward), with CPU tensors standing in for device
    # ones (the simulator takes numpy views instead of __cuda_array_interface__ objects)
    kc._dev = lambda t: t.detach().numpy()
    kc._stream = lambda: 0
    kc._dummy = lambda device, dtype: (None, np.zeros((1, 1, 1), dtype=np.float64))
    from motionkit.softdtw import soft_dtw, soft_dtw_from_cost
    xt, yt = torch.randn(3, 6, 2, dtype=torch.float64), torch.randn(3, 5, 2, dtype=torch.float64)
    ix = torch.arange(3); nl = torch.tensor([6, 2, 4]); ml = torch.tensor([5, 5, 1])
    vals, W = kc.run_forward(1, xt, yt, ix, ix, nl, ml, 0.2, 1, True)
    gx, gy = kc.run_backward(1, xt, yt, ix, ix, nl, ml, 1, torch.ones(3, dtype=torch.float64), W)
    xr, yr = xt.clone().requires_grad_(True), yt.clone().requires_grad_(True)
    ref = soft_dtw(xr, yr, 0.2, 1, x_lengths=nl, y_lengths=ml)
    ref.sum().backward()
    torch.testing.assert_close(vals, ref.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gx, xr.grad, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(gy, yr.grad, rtol=1e-9, atol=1e-12)
    C = torch.rand(2, 4, 7, dtype=torch.float64)
    vals, W = kc.run_forward(0, C, None, ix[:2], ix[:2], torch.tensor([4, 3]), torch.tensor([7, 2]), 0.5, -1, True)
    G, none = kc.run_backward(0, C, None, ix[:2], ix[:2], torch.tensor([4, 3]), torch.tensor([7, 2]), -1,
                              torch.tensor([1.0, 2.0], dtype=torch.float64), W)
    Cr = C.clone().requires_grad_(True)
    ref = soft_dtw_from_cost(Cr, 0.5, x_lengths=torch.tensor([4, 3]), y_lengths=torch.tensor([7, 2]))
    (ref * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    assert none is None
    torch.testing.assert_close(vals, ref.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(G, Cr.grad, rtol=1e-9, atol=1e-12)
    print("SIM-OK", cases)
    """
)


def test_cuda_kernels_in_simulator():
    here = Path(__file__).resolve().parent
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    env["PYTHONPATH"] = os.pathsep.join([str(here), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", SIM_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "SIM-OK" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


def test_cuda_kernels_compile_to_ptx_for_h100(monkeypatch):
    """The real (non-simulator) kernels type-check and compile to PTX for sm_90, in both dtypes.

    The simulator does not compile anything, so this is what catches CUDA-target-only typing problems
    (it found two). Needs libNVVM (a CUDA toolkit), not a GPU; skipped without it.
    """
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("simulator enabled in this process")
    import numba
    from numba import cuda, types
    from numba.cuda.cudadrv import nvvm

    if not nvvm.is_available():
        pytest.skip("libNVVM (CUDA toolkit) not found")
    import types as pytypes

    import numba.cuda.dispatcher as dispatcher

    from motionkit.softdtw import cuda as kc

    # device functions ask the current device for its compute capability; there is no device here
    monkeypatch.setattr(dispatcher, "get_current_device", lambda: pytypes.SimpleNamespace(compute_capability=(9, 0)))
    for ft in (numba.float32, numba.float64):
        fwd, bwd = kc._make_kernels(ft)
        a3, a2, a1 = (types.Array(ft, k, "C") for k in (3, 2, 1))
        pairs = types.Array(types.int64, 2, "C")
        sig_f = (types.int64, a3, a3, a3, pairs, types.float64, types.int64, a1, a3, types.boolean, a2)
        sig_b = (types.int64, a3, a3, pairs, types.int64, a1, a3, a3, a3, a3, a2, a2)
        ptx_f, _ = cuda.compile_ptx(fwd.py_func, sig_f, cc=(9, 0))
        ptx_b, _ = cuda.compile_ptx(bwd.py_func, sig_b, cc=(9, 0))
        assert ".entry" in ptx_f and ".entry" in ptx_b and "bar.sync" in ptx_f
        if ft == numba.float32:  # fast intrinsics on the float32 path
            assert "ex2.approx" in ptx_f and "lg2.approx" in ptx_f


# ------------------------------------------------------------------------------------------- real GPU
def _pair(B, N, M, D, seed, dtype=torch.float64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    x = scale * torch.randn(B, N, D, generator=g, dtype=dtype)
    y = scale * torch.randn(B, M, D, generator=g, dtype=dtype)
    return x, y


def _grads(fn, *tensors):
    ts = [t.detach().clone().requires_grad_(True) for t in tensors]
    out = fn(*ts)
    w = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype, device=out.device).reshape(out.shape)
    (torch.where(torch.isfinite(out), out, 0) * w).sum().backward()
    return out.detach().cpu(), [t.grad.cpu() for t in ts]


@pytest.mark.cuda
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 7, 5, 2), (2, 1, 9, 3), (4, 40, 33, 3), (2, 300, 257, 2)])
@pytest.mark.parametrize("bandwidth", [None, 0, 3])
@pytest.mark.parametrize("dist", ["sqeuclidean", "cosine"])
def test_cuda_matches_cpu_float64(shape, bandwidth, dist):
    from test_softdtw import ref_batch

    B, N, M, D = shape
    x, y = _pair(B, N, M, D, seed=1)

    def run(a, b):
        return soft_dtw(a, b, gamma=0.1, bandwidth=bandwidth, dist=dist)

    v_cpu, (gx_cpu, gy_cpu) = _grads(run, x, y)
    v_gpu, (gx_gpu, gy_gpu) = _grads(run, x.cuda(), y.cuda())
    torch.testing.assert_close(v_gpu, v_cpu, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(gx_gpu, gx_cpu, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(gy_gpu, gy_cpu, rtol=1e-8, atol=1e-10)
    if N * M <= 100:
        v_ref, (gx_ref, gy_ref) = _grads(lambda a, b: ref_batch(a, b, 0.1, bandwidth, dist), x, y)
        torch.testing.assert_close(v_gpu, v_ref, rtol=1e-5, atol=1e-8)
        torch.testing.assert_close(gx_gpu, gx_ref, rtol=1e-5, atol=1e-8)


@pytest.mark.cuda
def test_cuda_lengths_mask_pairwise_cost_and_float32():
    x, y = _pair(5, 37, 29, 3, seed=2)
    xl, yl = torch.tensor([37, 1, 20, 9, 30]), torch.tensor([29, 5, 1, 29, 17])
    f = lambda a, b: soft_dtw(a, b, 0.2, 2, x_lengths=xl.to(a.device), y_lengths=yl.to(a.device))  # noqa: E731
    v_c, g_c = _grads(f, x, y)
    v_g, g_g = _grads(f, x.cuda(), y.cuda())
    torch.testing.assert_close(v_g, v_c, rtol=1e-9, atol=1e-9)
    for a, b in zip(g_g, g_c):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    mask = torch.rand(5, 5, generator=torch.Generator().manual_seed(0)) > 0.5
    pw = lambda a, b: pairwise_soft_dtw(a, b, 0.1, normalize=True, mask=mask.to(a.device))  # noqa: E731
    v_c, g_c = _grads(pw, x, y)
    v_g, g_g = _grads(pw, x.cuda(), y.cuda())
    torch.testing.assert_close(v_g, v_c, rtol=1e-9, atol=1e-9)
    for a, b in zip(g_g, g_c):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    C = torch.rand(3, 50, 70, dtype=torch.float64)
    v_c, g_c = _grads(lambda c: soft_dtw_from_cost(c, 0.3), C)
    v_g, g_g = _grads(lambda c: soft_dtw_from_cost(c, 0.3), C.cuda())
    torch.testing.assert_close(v_g, v_c, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(g_g[0], g_c[0], rtol=1e-8, atol=1e-10)
    x32, y32 = _pair(8, 128, 100, 3, seed=3, dtype=torch.float32)
    v_c, g_c = _grads(lambda a, b: soft_dtw(a, b, 0.1), x32, y32)
    v_g, g_g = _grads(lambda a, b: soft_dtw(a, b, 0.1), x32.cuda(), y32.cuda())
    torch.testing.assert_close(v_g, v_c, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(g_g[0], g_c[0], rtol=1e-3, atol=1e-3)


@pytest.mark.cuda
@pytest.mark.parametrize("B, N", [(2, 1024), (1, 4096), (1, 8192), (300, 64)])
def test_cuda_long_sequences_and_big_batches(B, N):
    x, y = _pair(B, N, N, 3, seed=4, dtype=torch.float32)
    x, y = x.cuda().requires_grad_(True), y.cuda().requires_grad_(True)
    v = soft_dtw(x, y, gamma=0.1)
    v.sum().backward()
    assert torch.isfinite(v).all() and torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    if B * N <= 4096:  # compare with the CPU path (float64 accumulation)
        v_cpu = soft_dtw(x.detach().cpu(), y.detach().cpu(), gamma=0.1)
        torch.testing.assert_close(v.detach().cpu(), v_cpu, rtol=1e-4, atol=1e-2)


@pytest.mark.cuda
def test_cuda_large_inputs_finite():
    x, y = _pair(4, 200, 150, 3, seed=5, dtype=torch.float32, scale=1e3)
    x, y = x.cuda().requires_grad_(True), y.cuda().requires_grad_(True)
    v = soft_dtw(x, y, gamma=0.1)
    v.sum().backward()
    assert torch.isfinite(v).all() and torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
