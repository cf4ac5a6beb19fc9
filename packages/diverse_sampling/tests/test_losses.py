"""Each loss term against a tiny case worked out by hand (values in the comments)."""

import numpy as np
import pytest
import torch

from diverse_sampling.config import Config
from diverse_sampling.losses import (
    angle_loss,
    best_of_k_loss,
    hinge_diversity_loss,
    kl_loss,
    limb_length_loss,
    recons_loss,
    recover_history_loss,
    t1_loss,
    t2_loss,
    vec_loss,
)


def test_recons_vec_his():
    gt = torch.ones(2, 3, 3)
    gt[:, 0] = torch.tensor([1.0, 2.0, 2.0])
    pred = torch.zeros(2, 3, 3)
    assert recons_loss(pred, gt, 1).item() == pytest.approx(6.0)  # 2 frames x 3 coords x 2 batch / B=2
    assert vec_loss(pred, gt, 1).item() == pytest.approx(9.0)  # |(1,2,2)|^2
    pred[:, 0] = gt[:, 0] + torch.tensor([3.0, 4.0, 0.0])
    assert recover_history_loss(pred, gt, 1).item() == pytest.approx(25.0)


def test_kl():
    mean = torch.tensor([[1.0, 0.0]])
    logvar = torch.zeros(1, 2)
    assert kl_loss(mean, logvar).item() == pytest.approx(0.5)  # -1/2 (1 + 0 - 1 - 1) - 1/2 (1 - 1)
    assert kl_loss(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_limb_length():
    parents = np.array([-1, 0])
    gt = torch.zeros(1, 2, 6)
    gt[0, 0] = torch.tensor([1.0, 0, 0, 1, 1, 0])  # bones of length 1 and 1
    pred = torch.zeros(1, 2, 6)
    pred[0, :] = torch.tensor([2.0, 0, 0, 2, 0, 0])  # lengths 2 and 0 -> 1 + 1 per frame
    assert limb_length_loss(pred, gt, parents).item() == pytest.approx(2.0)


def _humaneva_pose_with_hips(p7, p10):
    pose = torch.randn(1, 2, 14, 3)  # t_his = 1, one future frame
    pose[0, 1, 7] = torch.tensor(p7)
    pose[0, 1, 10] = torch.tensor(p10)
    return pose.reshape(1, 2, 42)


def test_angle_loss_lower_and_upper_bounds():
    pred = _humaneva_pose_with_hips([1.0, 0, 0], [0, 1.0, 0])  # LHip2RHip cosine 0
    assert angle_loss(pred, 1, "humaneva", {"LHip2RHip": [0.5, 0.9]}).item() == pytest.approx(0.25)
    assert angle_loss(pred, 1, "humaneva", {"LHip2RHip": [-0.99, -0.5]}).item() == pytest.approx(0.25)
    assert angle_loss(pred, 1, "humaneva", {"LHip2RHip": [-0.5, 0.5]}).item() == 0.0
    assert angle_loss(pred, 1, "humaneva", {"LHip2RHip": [-1.0, 0.99]}).item() == 0.0  # both bounds inactive


def test_hinge_diversity_hand_case_and_zero_when_far():
    fut = torch.tensor([[[0.0], [1.0], [3.0]]])  # pair distances 1, 3, 2
    assert hinge_diversity_loss(fut, 2.5).item() == pytest.approx((1.5 + 0 + 0.5) / 3, abs=1e-5)
    assert hinge_diversity_loss(fut, 0.5).item() == 0.0  # every pair farther than eta


def test_hinge_diversity_matches_brute_force():
    torch.manual_seed(0)
    fut = torch.randn(2, 6, 5, 4)
    eta = 4.0
    vals = [max(0.0, eta - float((fut[b, i] - fut[b, j]).norm())) for b in range(2) for i in range(6)
            for j in range(6) if i != j]
    assert hinge_diversity_loss(fut, eta).item() == pytest.approx(np.mean(vals), rel=1e-5)


def test_best_of_k_squared_and_l2():
    fut = torch.tensor([[[[2.0, 0.0]], [[0.0, 1.5]], [[3.0, 0.0]]]])  # (B=1, K=3, T=1, D=2)
    gt = torch.zeros(1, 1, 2)
    assert best_of_k_loss(fut, gt, squared=True).item() == pytest.approx(2.25)
    assert best_of_k_loss(fut, gt, squared=False).item() == pytest.approx(1.5)


def test_t1_total_weights_and_legacy_recoverhis_bug():
    torch.manual_seed(0)
    gt, pred = torch.randn(2, 30, 48), torch.randn(2, 30, 48)
    mean, logvar = torch.randn(2, 8), torch.randn(2, 8)
    parents = np.array([-1, 0, 1, -1, 3, 4, -1, 6, 7, 8, 7, 10, 11, 7, 13, 14])
    cfg = Config(t_his=10, t_pred=20, w_angle=0, legacy_recoverhis_bug=False)  # as intended: w_his multiplies
    total, t = t1_loss(pred, gt, mean, logvar, cfg, parents, None)
    expect = t["recons"] + 1000 * t["vec"] + 0.5 * t["kl"] + 100 * t["his"] + 1000 * t["limb"]
    assert total.item() == pytest.approx(expect, rel=1e-5)
    cfg = Config(t_his=10, t_pred=20, w_angle=0)  # the default: the original's "+ 100"
    legacy, _ = t1_loss(pred, gt, mean, logvar, cfg, parents, None)
    assert legacy.item() == pytest.approx(expect - 100 * t["his"] + t["his"] + 100, rel=1e-5)


def test_t2_total():
    torch.manual_seed(0)
    fut, gt = torch.randn(2, 4, 5, 6), torch.randn(2, 5, 6)
    mean, logvar = torch.randn(2, 4, 8), torch.randn(2, 4, 8)
    cfg = Config(eta=3.0)
    total, t = t2_loss(fut, gt, mean, logvar, cfg)
    assert total.item() == pytest.approx(0.5 * t["kl"] + 40 * t["acc"] + 20 * t["div"], rel=1e-5)
