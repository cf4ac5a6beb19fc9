"""Tests of motionkit.softdtw (CPU path) against plain float64 dynamic-programming references.

The references below are written independently of the kernels (textbook recursion with torch ops on 0-d
tensors, so torch autograd gives reference gradients); Python loops, tiny sizes only.
test_softdtw_cuda.py imports them for the CUDA checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from motionkit.softdtw import (
    SoftDTW,
    average_hausdorff,
    hausdorff,
    hausdorff_from_distances,
    pairwise_soft_dtw,
    soft_dtw,
    soft_dtw_from_cost,
)

RTOL = 1e-5


# ------------------------------------------------------------------------------------------ references
def in_band(i: int, j: int, n: int, m: int, bandwidth) -> bool:
    """Sakoe-Chiba parallelogram: -r - max(0, m-n) <= i - j <= r + max(0, n-m) (0-based cells)."""
    if bandwidth is None:
        return True
    return -bandwidth - max(0, m - n) <= i - j <= bandwidth + max(0, n - m)


def sqeuclidean_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N, D), (M, D) -> (N, M) squared Euclidean distances, by broadcasting."""
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def cosine_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    xn = x / x.norm(dim=-1, keepdim=True)
    yn = y / y.norm(dim=-1, keepdim=True)
    return 1.0 - xn @ yn.T


def soft_dtw_ref(C: torch.Tensor, gamma: float, bandwidth=None) -> torch.Tensor:
    """Soft-DTW of one (N, M) cost matrix by the textbook recursion, differentiable with autograd."""
    n, m = C.shape
    R = {(-1, -1): torch.zeros((), dtype=torch.float64)}
    for i in range(n):
        for j in range(m):
            if not in_band(i, j, n, m, bandwidth):
                continue
            preds = [R[k] for k in ((i - 1, j - 1), (i - 1, j), (i, j - 1)) if k in R]
            preds = [r for r in preds if math.isfinite(r.item())]
            if not preds or not math.isfinite(C[i, j].item()):
                R[(i, j)] = torch.tensor(math.inf, dtype=torch.float64)
                continue
            z = torch.stack([-r / gamma for r in preds])
            R[(i, j)] = C[i, j] - gamma * torch.logsumexp(z, dim=0)
    return R[(n - 1, m - 1)]


def dtw_ref(C: np.ndarray, bandwidth=None) -> float:
    """Exact DTW (hard minimum) of one (N, M) cost matrix."""
    n, m = C.shape
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(n):
        for j in range(m):
            if in_band(i, j, n, m, bandwidth):
                R[i + 1, j + 1] = C[i, j] + min(R[i, j], R[i, j + 1], R[i + 1, j])
    return float(R[n, m])


def ref_batch(x, y, gamma, bandwidth=None, dist="sqeuclidean", xl=None, yl=None, normalize=False):
    """Reference values (B,) for paired sequences, differentiable w.r.t. x and y."""
    cost = sqeuclidean_cost if dist == "sqeuclidean" else cosine_cost
    out = []
    for b in range(x.shape[0]):
        xb = x[b, : (xl[b] if xl is not None else x.shape[1])]
        yb = y[b, : (yl[b] if yl is not None else y.shape[1])]
        v = soft_dtw_ref(cost(xb, yb), gamma, bandwidth)
        if normalize:
            v = v - 0.5 * (soft_dtw_ref(cost(xb, xb), gamma, bandwidth) + soft_dtw_ref(cost(yb, yb), gamma, bandwidth))
        out.append(v)
    return torch.stack(out)


def leaf(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(*shape, generator=g, dtype=torch.float64)).requires_grad_(True)


def values_and_grads(fn, *inputs, weights=None):
    """fn(*inputs) and the gradient of sum(w * out) w.r.t. each input (random fixed weights)."""
    inputs = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = fn(*inputs)
    if weights is None:
        weights = torch.linspace(0.5, 1.5, out.numel(), dtype=out.dtype).reshape(out.shape)
    finite = torch.isfinite(out)
    (torch.where(finite, out, 0) * weights).sum().backward()
    return out.detach(), [t.grad if t.grad is not None else torch.zeros_like(t) for t in inputs]


def assert_close(a, b, rtol=RTOL, what=""):
    a = torch.as_tensor(a, dtype=torch.float64).detach()
    b = torch.as_tensor(b, dtype=torch.float64).detach()
    scale = max(float(b.abs().max()) if b.numel() else 0.0, 1e-12)
    torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * scale * 1e-2, msg=lambda m: f"{what}: {m}")


# --------------------------------------------------------------------------------------- soft_dtw values
SHAPES = [  # B, N, M, D  (D >= 8 takes the per-pair dense cost path of the CPU kernels)
    (1, 1, 1, 1),
    (1, 1, 6, 2),
    (2, 5, 1, 3),
    (3, 4, 7, 2),
    (2, 8, 8, 3),
    (1, 9, 4, 1),
    (2, 6, 5, 8),
    (1, 4, 7, 63),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("gamma", [0.1, 1.0])
@pytest.mark.parametrize("bandwidth", [None, 0, 2])
def test_values_and_gradients_match_reference(shape, gamma, bandwidth):
    B, N, M, D = shape
    x, y = leaf(B, N, D, seed=1), leaf(B, M, D, seed=2)
    got, (gx, gy) = values_and_grads(lambda a, b: soft_dtw(a, b, gamma=gamma, bandwidth=bandwidth), x, y)
    want, (wx, wy) = values_and_grads(lambda a, b: ref_batch(a, b, gamma, bandwidth), x, y)
    assert_close(got, want, what="value")
    assert_close(gx, wx, what="grad x")
    assert_close(gy, wy, what="grad y")


@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (1, 1, 4, 2), (3, 6, 2, 4), (2, 6, 5, 9), (1, 3, 4, 63)])
def test_cosine_matches_reference(shape):
    B, N, M, D = shape
    x, y = leaf(B, N, D, seed=3), leaf(B, M, D, seed=4)
    got, (gx, gy) = values_and_grads(lambda a, b: soft_dtw(a, b, gamma=0.1, dist="cosine"), x, y)
    want, (wx, wy) = values_and_grads(lambda a, b: ref_batch(a, b, 0.1, dist="cosine"), x, y)
    assert_close(got, want, what="value")
    assert_close(gx, wx, what="grad x")
    assert_close(gy, wy, what="grad y")


@pytest.mark.parametrize("bandwidth", [None, 1])
@pytest.mark.parametrize("dist", ["sqeuclidean", "cosine"])
@pytest.mark.parametrize("D", [2, 10])
def test_lengths_match_cropped_reference_and_padding_gets_no_gradient(bandwidth, dist, D):
    B, N, M = 4, 7, 6
    xl, yl = [7, 3, 1, 5], [2, 6, 4, 1]
    x, y = leaf(B, N, D, seed=5), leaf(B, M, D, seed=6)

    def ours(a, b):
        return soft_dtw(a, b, 0.3, bandwidth, dist=dist, x_lengths=torch.tensor(xl), y_lengths=torch.tensor(yl))

    got, (gx, gy) = values_and_grads(ours, x, y)
    want, (wx, wy) = values_and_grads(lambda a, b: ref_batch(a, b, 0.3, bandwidth, dist, xl, yl), x, y)
    assert_close(got, want, what="value")
    assert_close(gx, wx, what="grad x")
    assert_close(gy, wy, what="grad y")
    for b in range(B):
        assert torch.all(gx[b, xl[b]:] == 0) and torch.all(gy[b, yl[b]:] == 0)


@pytest.mark.parametrize("dist", ["sqeuclidean", "cosine"])
@pytest.mark.parametrize("nm", [(5, 5), (4, 7), (6, 3)])
def test_normalize_is_the_divergence(dist, nm):
    N, M = nm
    x, y = leaf(3, N, 2, seed=7), leaf(3, M, 2, seed=8)
    got, (gx, gy) = values_and_grads(lambda a, b: soft_dtw(a, b, 0.5, normalize=True, dist=dist), x, y)
    want, (wx, wy) = values_and_grads(lambda a, b: ref_batch(a, b, 0.5, dist=dist, normalize=True), x, y)
    assert_close(got, want, what="value")
    assert_close(gx, wx, what="grad x")
    assert_close(gy, wy, what="grad y")
    # divergence properties: D(x, x) == 0, and >= 0 for the squared Euclidean cost
    same = soft_dtw(x, x, 0.5, normalize=True, dist=dist)
    assert torch.allclose(same, torch.zeros_like(same), atol=1e-10)
    if dist == "sqeuclidean":
        assert bool((got >= -1e-10).all())


def test_normalize_with_lengths():
    x, y = leaf(2, 6, 2, seed=9), leaf(2, 5, 2, seed=10)
    xl, yl = [4, 6], [5, 2]
    got = soft_dtw(x, y, 0.2, normalize=True, x_lengths=torch.tensor(xl), y_lengths=torch.tensor(yl))
    want = ref_batch(x, y, 0.2, xl=xl, yl=yl, normalize=True)
    assert_close(got.detach(), want.detach(), what="value")


# ---------------------------------------------------------------------------------------------- pairwise
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("use_mask", [False, True])
def test_pairwise_matches_reference(normalize, use_mask):
    B1, B2, N, M, D = 4, 3, 5, 6, 2
    x, y = leaf(B1, N, D, seed=11), leaf(B2, M, D, seed=12)
    xl, yl = [5, 2, 4, 1], [6, 3, 1]
    mask = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 1, 0]], dtype=torch.bool) if use_mask else None

    def ours(a, b):
        return pairwise_soft_dtw(a, b, 0.4, normalize=normalize, x_lengths=torch.tensor(xl),
                                 y_lengths=torch.tensor(yl), mask=mask)

    def ref(a, b):
        rows = []
        for i in range(B1):
            row = []
            for j in range(B2):
                if mask is not None and not mask[i, j]:
                    row.append(torch.tensor(math.inf, dtype=torch.float64))
                else:
                    row.append(ref_batch(a[i:i + 1], b[j:j + 1], 0.4, xl=[xl[i]], yl=[yl[j]],
                                         normalize=normalize)[0])
            rows.append(torch.stack(row))
        return torch.stack(rows)

    got, (gx, gy) = values_and_grads(ours, x, y)
    want, (wx, wy) = values_and_grads(ref, x, y)
    assert got.shape == (B1, B2)
    if mask is not None:
        assert torch.isinf(got[~mask]).all()
    assert_close(got[torch.isfinite(want)], want[torch.isfinite(want)], what="value")
    assert_close(gx, wx, what="grad x")
    assert_close(gy, wy, what="grad y")


def test_pairwise_equals_soft_dtw_on_pairs_and_empty_mask():
    x, y = leaf(3, 6, 3, seed=13), leaf(2, 4, 3, seed=14)
    pw = pairwise_soft_dtw(x, y, 0.1, dist="cosine")
    for i in range(3):
        for j in range(2):
            one = soft_dtw(x[i:i + 1], y[j:j + 1], 0.1, dist="cosine")
            assert_close(pw[i, j], one[0])
    none = pairwise_soft_dtw(x, y, 0.1, mask=torch.zeros(3, 2, dtype=torch.bool))
    assert torch.isinf(none).all()


# ------------------------------------------------------------------------------------- precomputed cost
@pytest.mark.parametrize("bandwidth", [None, 1])
def test_from_cost_matches_reference_with_lengths(bandwidth):
    C = leaf(3, 6, 4, seed=15).detach().abs().requires_grad_(True)
    xl, yl = [6, 2, 5], [4, 4, 1]

    def ours(c):
        return soft_dtw_from_cost(c, 0.2, bandwidth, torch.tensor(xl), torch.tensor(yl))

    def ref(c):
        return torch.stack([soft_dtw_ref(c[b, :xl[b], :yl[b]], 0.2, bandwidth) for b in range(3)])

    got, (g,) = values_and_grads(ours, C)
    want, (w,) = values_and_grads(ref, C)
    assert_close(got, want, what="value")
    assert_close(g, w, what="grad cost")


def test_from_cost_inf_cells_are_forbidden():
    C = torch.rand(1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    C[0, 1, 1] = math.inf
    C.requires_grad_(True)
    got, (g,) = values_and_grads(lambda c: soft_dtw_from_cost(c, 0.5), C)
    want, (w,) = values_and_grads(lambda c: soft_dtw_ref(c[0], 0.5)[None], C)
    assert_close(got, want)
    assert abs(float(g[0, 1, 1])) < 1e-12  # zero up to rounding (the diagonal weight is 1 - w_up - w_left)
    assert_close(g, torch.nan_to_num(w, posinf=0.0))


# ------------------------------------------------------------------------------------ limits, stability
def test_gamma_to_zero_tends_to_exact_dtw():
    x, y = leaf(3, 7, 2, seed=16), leaf(3, 5, 2, seed=17)
    for bandwidth in (None, 1):
        exact = np.array([dtw_ref(sqeuclidean_cost(x[b], y[b]).detach().numpy(), bandwidth) for b in range(3)])
        errs = []
        for gamma in (1.0, 0.1, 1e-2, 1e-4):
            v = soft_dtw(x, y, gamma=gamma, bandwidth=bandwidth).detach().numpy()
            # sDTW <= DTW, and DTW - sDTW <= gamma * log(#alignments) <= gamma * (N + M) * log 3
            assert np.all(v <= exact + 1e-9)
            assert np.all(exact - v <= gamma * 12 * math.log(3) + 1e-9)
            errs.append(np.abs(exact - v).max())
        assert errs[-1] < 1e-3 and errs == sorted(errs, reverse=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("gamma", [0.01, 0.1, 1.0])
def test_large_inputs_give_finite_values_and_gradients(dtype, gamma):
    x = leaf(2, 30, 3, seed=18, scale=1e3).detach().to(dtype).requires_grad_(True)
    y = leaf(2, 25, 3, seed=19, scale=1e3).detach().to(dtype).requires_grad_(True)
    for normalize in (False, True):
        for dist in ("sqeuclidean", "cosine"):
            x.grad = y.grad = None
            v = soft_dtw(x, y, gamma=gamma, normalize=normalize, dist=dist)
            v.sum().backward()
            assert torch.isfinite(v).all() and torch.isfinite(x.grad).all() and torch.isfinite(y.grad).all()
    v = pairwise_soft_dtw(x, y, gamma=gamma)
    assert torch.isfinite(v).all()


def test_float32_agrees_with_float64():
    x, y = leaf(4, 20, 3, seed=20), leaf(4, 17, 3, seed=21)
    v64, (gx64, gy64) = values_and_grads(lambda a, b: soft_dtw(a, b, 0.1), x, y)
    v32, (gx32, gy32) = values_and_grads(lambda a, b: soft_dtw(a, b, 0.1), x.float(), y.float())
    assert v32.dtype == torch.float32 and gx32.dtype == torch.float32
    assert_close(v32, v64, rtol=1e-5)
    assert_close(gx32, gx64, rtol=1e-4)
    assert_close(gy32, gy64, rtol=1e-4)


def test_module_and_gradcheck():
    m = SoftDTW(gamma=0.3, bandwidth=2, normalize=True)
    assert "gamma=0.3" in repr(m)
    x, y = leaf(2, 5, 2, seed=22), leaf(2, 6, 2, seed=23)
    assert_close(m(x, y), soft_dtw(x, y, 0.3, 2, True))
    assert torch.autograd.gradcheck(lambda a, b: m(a, b), (x, y))
    C = leaf(2, 4, 5, seed=24).detach().abs().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda c: soft_dtw_from_cost(c, 0.7, 1), (C,))


def test_no_grad_path_and_grad_of_one_input_only():
    x, y = leaf(2, 5, 2, seed=25), leaf(2, 4, 2, seed=26).detach()
    with torch.no_grad():
        v0 = soft_dtw(x, y, 0.1)
    v = soft_dtw(x, y, 0.1)
    v.sum().backward()
    assert_close(v0, v.detach())
    assert x.grad is not None and y.grad is None


def test_double_backward_raises():
    x, y = leaf(2, 5, 2, seed=27), leaf(2, 4, 2, seed=28)
    v = soft_dtw(x, y, 0.5).sum()
    (gx,) = torch.autograd.grad(v, x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        gx.sum().backward()


# -------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x, y: soft_dtw(x, y[..., :2]), "same feature size D"),
        (lambda x, y: soft_dtw(x[0], y), "x must have shape"),
        (lambda x, y: soft_dtw(x, y[None]), "y must have shape"),
        (lambda x, y: soft_dtw(x, y, gamma=0), "gamma"),
        (lambda x, y: soft_dtw(x, y, gamma=-1.0), "gamma"),
        (lambda x, y: soft_dtw(x, y, gamma=float("nan")), "gamma"),
        (lambda x, y: soft_dtw(x, y, bandwidth=-1), "bandwidth"),
        (lambda x, y: soft_dtw(x, y, bandwidth=1.5), "bandwidth"),
        (lambda x, y: soft_dtw(x, y, dist="l1"), "dist"),
        (lambda x, y: soft_dtw(x, y[:1]), "same batch size"),
        (lambda x, y: soft_dtw(x, y, x_lengths=torch.tensor([3, 9])), "x_lengths"),
        (lambda x, y: soft_dtw(x, y, y_lengths=torch.tensor([0, 1])), "y_lengths"),
        (lambda x, y: soft_dtw(x, y, y_lengths=torch.tensor([1])), "y_lengths"),
        (lambda x, y: soft_dtw(x.numpy(), y), "torch.Tensor"),
        (lambda x, y: soft_dtw(x[:, :0], y), "non-empty"),
        (lambda x, y: soft_dtw(x.long(), y), "floating-point"),
        (lambda x, y: soft_dtw(torch.where(x > 0, float("nan"), x), y), "x contains NaN"),
        (lambda x, y: soft_dtw(x, torch.full_like(y, float("inf"))), "y contains NaN or infinite"),
        (lambda x, y: pairwise_soft_dtw(x, y, mask=torch.ones(2, 3, dtype=torch.bool)), "mask"),
        (lambda x, y: soft_dtw_from_cost(x[0]), "cost must be"),
        (lambda x, y: soft_dtw_from_cost(torch.full((1, 2, 2), float("nan"))), "cost contains NaN"),
        (lambda x, y: SoftDTW(gamma=0.0), "gamma"),
        (lambda x, y: hausdorff(x, y[..., :1]), "share B and D"),
    ],
)
def test_bad_input_raises_one_line_value_error(call, match):
    x, y = torch.randn(2, 5, 3), torch.randn(2, 4, 3)
    with pytest.raises(ValueError, match=match) as info:
        call(x, y)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------------------------- hausdorff
def test_hausdorff_matches_brute_force_with_lengths():
    x, y = leaf(3, 6, 2, seed=29), leaf(3, 5, 2, seed=30)
    xl, yl = [6, 2, 4], [5, 5, 1]
    h = hausdorff(x, y, torch.tensor(xl), torch.tensor(yl))
    ah = average_hausdorff(x, y, torch.tensor(xl), torch.tensor(yl))
    for b in range(3):
        d = torch.cdist(x[b, :xl[b]], y[b, :yl[b]]).detach()
        want_h = max(d.min(1).values.max(), d.min(0).values.max())
        want_ah = 0.5 * (d.min(1).values.mean() + d.min(0).values.mean())
        assert_close(h[b], want_h)
        assert_close(ah[b], want_ah)
    (h.sum() + ah.sum()).backward()
    assert torch.isfinite(x.grad).all() and torch.all(x.grad[1, 2:] == 0)
    assert_close(hausdorff(x, x).detach(), torch.zeros(3))


def test_hausdorff_from_masked_pairwise_soft_dtw():
    labels = torch.tensor([0, 1, 0, 1])
    x, y = leaf(4, 5, 2, seed=31), leaf(4, 5, 2, seed=32)
    d = pairwise_soft_dtw(x, y, 0.1, mask=labels[:, None] == labels[None, :])
    ahd = hausdorff_from_distances(d, average=True)
    dd = d.detach()
    want = 0.5 * (dd.min(1).values.mean() + dd.min(0).values.mean())
    assert_close(ahd, want)
    ahd.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert torch.isinf(hausdorff_from_distances(torch.full((2, 2), math.inf)))


def test_vectorisable_exp_and_log_accuracy():
    import numba

    from motionkit.softdtw.cpu import exp_nonpos, log_1_3

    @numba.njit(error_model="numpy")
    def apply(fn_id, a):
        out = np.empty_like(a)
        for i in range(a.size):
            out[i] = exp_nonpos(a[i]) if fn_id == 0 else log_1_3(a[i])
        return out

    t = -np.linspace(0.0, 707.0, 100001)
    assert np.max(np.abs(apply(0, t) / np.exp(t) - 1)) < 1e-12
    assert np.all(apply(0, np.array([-709.0, -1e300, -np.inf, np.nan])) == 0.0)
    s = np.linspace(1.0, 3.0, 100001)
    assert np.max(np.abs(apply(1, s) - np.log(s))) < 1e-13
