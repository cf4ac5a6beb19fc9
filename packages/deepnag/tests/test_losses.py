"""Loss terms against values computed by hand (or by a textbook recursion) on tiny inputs."""

from __future__ import annotations

import math

import pytest
import torch
from deepnag_testutils import naive_soft_dtw

from deepnag.losses import (
    class_aware_ahd,
    deepnag_loss,
    direction_vectors,
    gradient_penalty,
    resample_loss,
    sdtw_term,
)

GAMMA = 0.1


def sq(u, v):
    return sum((a - b) ** 2 for a, b in zip(u, v))


def one_minus_cos(u, v):
    nu, nv = math.sqrt(sum(a * a for a in u)), math.sqrt(sum(b * b for b in v))
    return 1 - sum(a * b for a, b in zip(u, v)) / (nu * nv)


def brute_force_ahd(A, B, labels, cost):
    """The definition of deepnag.md §1.2, with explicit loops."""
    n = len(labels)
    d = [[naive_soft_dtw(A[i], B[j], GAMMA, cost) if labels[i] == labels[j] else math.inf for j in range(n)]
         for i in range(n)]
    ab = [min(d[i]) for i in range(n)]
    ba = [min(d[i][j] for i in range(n)) for j in range(n)]
    total = 0.0
    for k in range(n):
        same = [i for i in range(n) if labels[i] == labels[k]]
        total += 0.5 * (sum(ab[i] for i in same) / len(same) + sum(ba[j] for j in same) / len(same))
    return total


def test_ahd_single_frame_by_hand():
    # length-1 sequences: soft-DTW is just the squared distance of the two frames
    a = torch.tensor([[[0.0]], [[1.0]], [[3.0]]], dtype=torch.float64)
    b = torch.tensor([[[1.0]], [[2.0]], [[5.0]]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1])
    # class 0: d = [[1, 4], [0, 1]] -> ab = [1, 0], ba = [0, 1]; h = 0.5 (0.5 + 0.5) = 0.5 for k = 0, 1
    # class 1: d = [[4]] -> h = 0.5 (4 + 4) = 4 for k = 2;   AHD = 0.5 + 0.5 + 4 = 5
    assert float(class_aware_ahd(a, b, y, "sqeuclidean", GAMMA)) == pytest.approx(5.0, abs=1e-9)


def test_ahd_matches_brute_force_ed_and_cos():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(5, 4, 2, generator=g, dtype=torch.float64)
    B = torch.randn(5, 4, 2, generator=g, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 2, 1])
    ours = float(class_aware_ahd(A, B, y, "sqeuclidean", GAMMA))
    assert ours == pytest.approx(brute_force_ahd(A.tolist(), B.tolist(), y.tolist(), sq), rel=1e-9)
    vA, vB = direction_vectors(A), direction_vectors(B)
    assert vA.shape == (5, 3, 2)
    ours_cos = float(class_aware_ahd(vA, vB, y, "cosine", GAMMA))
    assert ours_cos == pytest.approx(brute_force_ahd(vA.tolist(), vB.tolist(), y.tolist(), one_minus_cos), rel=1e-9)


def test_soft_dtw_two_frames_by_hand():
    # x = (0, 1), y = (0, 2) in 1-D: C = [[0, 4], [1, 1]]; R11 = 0, R12 = 4, R21 = 1,
    # R22 = 1 + softmin(0, 4, 1) with softmin(v) = -g log sum exp(-v / g)
    x = torch.tensor([[[0.0], [1.0]]], dtype=torch.float64)
    yv = torch.tensor([[[0.0], [2.0]]], dtype=torch.float64)
    soft = -GAMMA * math.log(math.exp(0) + math.exp(-4 / GAMMA) + math.exp(-1 / GAMMA))
    assert float(class_aware_ahd(x, yv, torch.tensor([0]), "sqeuclidean", GAMMA)) == pytest.approx(1 + soft)


def test_sdtw_term_structure_and_gradients():
    g = torch.Generator().manual_seed(1)
    real1, real2, fake2 = (torch.randn(4, 5, 2, generator=g, dtype=torch.float64) for _ in range(3))
    fake1 = torch.randn(4, 5, 2, generator=g, dtype=torch.float64, requires_grad=True)
    fake2.requires_grad_(True)
    y = torch.tensor([0, 0, 1, 1])
    t = sdtw_term(real1, real2, fake1, fake2, y, "ed", GAMMA)
    realism = class_aware_ahd(real1, fake1, y, "sqeuclidean", GAMMA)
    spread = class_aware_ahd(fake1, fake2, y, "sqeuclidean", GAMMA) - class_aware_ahd(real1, real2, y, "sqeuclidean",
                                                                                         GAMMA)
    assert float(t["total"].detach()) == pytest.approx(float((realism + spread.abs()).detach()), rel=1e-12)
    t["total"].backward()
    assert fake1.grad is not None and fake1.grad.abs().sum() > 0
    assert fake2.grad is None  # fake2 is detached (sg in the paper's notation)


def test_resample_loss_by_hand():
    fake = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]])
    # segments 1 and 2; the original's target divides the length 3 by T = 3 points -> 1; MSE = (0 + 1) / 2
    assert float(resample_loss(fake, 1000.0, divide_by_t=True)) == pytest.approx(500.0)
    # by the T - 1 = 2 segments: target 1.5, MSE = (0.25 + 0.25) / 2
    assert float(resample_loss(fake, 1000.0, divide_by_t=False)) == pytest.approx(250.0)


def test_deepnag_loss_is_mean_of_three_terms():
    g = torch.Generator().manual_seed(2)
    r1, r2, f1, f2 = (torch.rand(6, 8, 3, generator=g) * 2 - 1 for _ in range(4))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    out = deepnag_loss(r1, r2, f1, f2, y)
    assert float(out["loss"]) == pytest.approx(float(out["loss_ed"] + out["loss_cos"] + out["loss_resample"]) / 3,
                                               rel=1e-6)
    # identical real and fake sets: the diversity terms vanish when the fake spread equals the real one
    same = deepnag_loss(r1, r2, r1, r2, y)
    ed = sdtw_term(r1, r2, r1, r2, y, "ed")
    assert float(ed["diversity"]) == pytest.approx(0.0, abs=1e-5)
    assert float(same["loss_ed"]) == pytest.approx(float(ed["realism"]), rel=1e-6)


def test_gradient_penalty_linear_critic_by_hand():
    w = torch.tensor([3.0, 4.0])  # D(x, y) = sum_t w . x_t  -> grad wrt x is w at every step

    def critic(x, labels):
        return (x * w).sum(dim=(1, 2))

    real, fake = torch.randn(3, 2, 2), torch.randn(3, 2, 2)
    gp = gradient_penalty(critic, real, fake, torch.zeros(3, dtype=torch.long), weight=10.0)
    # flattened gradient per sample = (w, w): norm = sqrt(2) * 5; penalty = 10 (5 sqrt 2 - 1)^2
    assert float(gp) == pytest.approx(10 * (5 * math.sqrt(2) - 1) ** 2, rel=1e-5)
