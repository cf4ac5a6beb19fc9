import numpy as np
import pytest

from motionkit import metrics


def _rotation(seed):
    a = np.random.default_rng(seed).normal(size=(3, 3))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def test_mpjpe_hand_worked():
    gt = np.zeros((2, 3))
    pred = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    assert metrics.mpjpe(pred, gt) == pytest.approx(3.0)  # (5 + 1) / 2


def test_pa_mpjpe_of_similarity_transformed_copy_is_zero():
    gt = np.random.default_rng(0).normal(size=(6, 17, 3))
    pred = 2.5 * gt @ _rotation(1).T + np.array([10.0, -3.0, 7.0])
    assert metrics.pa_mpjpe(pred, gt) == pytest.approx(0.0, abs=1e-9)
    assert metrics.mpjpe(pred, gt) > 1.0


def test_mirrored_copy_is_zero_only_with_reflection():
    gt = np.random.default_rng(2).normal(size=(4, 14, 3))
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert metrics.pa_mpjpe(mirrored, gt, reflection=True) == pytest.approx(0.0, abs=1e-9)
    assert metrics.pa_mpjpe(mirrored, gt, reflection=False) > 0.1


def test_procrustes_without_scaling_keeps_size():
    gt = np.random.default_rng(3).normal(size=(10, 3))
    aligned = metrics.procrustes_align(2.0 * gt, gt, scaling=False)
    assert np.linalg.norm(aligned - aligned.mean(0)) == pytest.approx(2.0 * np.linalg.norm(gt - gt.mean(0)))


def test_apd_ade_fde_hand_worked():
    same = np.ones((5, 4, 6))
    assert metrics.apd(same) == 0.0
    # two samples of one frame, one joint: distance 2 apart in x
    two = np.array([[[0.0, 0.0]], [[2.0, 0.0]]])
    assert metrics.apd(two) == pytest.approx(2.0)
    gt = np.array([[1.0, 0.0], [1.0, 1.0]])  # (T=2, D=2)
    samples = np.array([[[1.0, 0.0], [1.0, 1.0]], [[0.0, 0.0], [4.0, 5.0]]])  # sample 0 is exact
    assert metrics.ade(samples, gt) == 0.0
    assert metrics.fde(samples, gt) == 0.0
    assert metrics.ade(samples[1:], gt) == pytest.approx((1.0 + 5.0) / 2)
    assert metrics.fde(samples[1:], gt) == pytest.approx(5.0)


def test_mmade_uses_the_whole_group():
    samples = np.array([[[0.0], [0.0]], [[2.0], [2.0]]])  # K=2, T=2, D=1
    group = np.array([[[0.0], [0.0]], [[2.0], [4.0]]])  # G=2
    # member 0 matched exactly by sample 0; member 1 best by sample 1: errors 0 and 2 -> mean 1
    assert metrics.mmade(samples, group) == pytest.approx((0.0 + 1.0) / 2)
    assert metrics.mmfde(samples, group) == pytest.approx((0.0 + 2.0) / 2)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.mpjpe(np.zeros((3, 3)), np.zeros((4, 3)))
