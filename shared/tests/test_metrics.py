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


def test_batched_motion_metrics_match_their_definitions():
    from motionkit.metrics import ade_fde_batch, apd_batch, mm_ade_fde_batch

    rng = np.random.default_rng(0)
    pred = rng.normal(size=(3, 4, 5, 6))  # (B, K, T, D)
    gt = rng.normal(size=(3, 5, 6))
    group = rng.normal(size=(3, 2, 5, 6))
    mask = np.array([[1, 1], [1, 0], [1, 1]], dtype=bool)
    for b in range(3):
        flat = pred[b].reshape(4, -1)
        want_apd = np.mean([np.linalg.norm(flat[i] - flat[j]) for i in range(4) for j in range(4) if i != j])
        errs = np.linalg.norm(pred[b] - gt[b], axis=-1)  # (K, T)
        members = group[b][mask[b]]
        mm = [np.linalg.norm(pred[b] - g, axis=-1) for g in members]
        np.testing.assert_allclose(apd_batch(pred)[b], want_apd, rtol=1e-12)
        np.testing.assert_allclose(ade_fde_batch(pred, gt)[0][b], errs.mean(1).min(), rtol=1e-12)
        np.testing.assert_allclose(ade_fde_batch(pred, gt)[1][b], errs[:, -1].min(), rtol=1e-12)
        np.testing.assert_allclose(mm_ade_fde_batch(pred, group, mask)[0][b],
                                   np.mean([e.mean(1).min() for e in mm]), rtol=1e-10)
        np.testing.assert_allclose(mm_ade_fde_batch(pred, group, mask)[1][b],
                                   np.mean([e[:, -1].min() for e in mm]), rtol=1e-10)


def test_batched_metrics_take_torch_tensors():
    torch = pytest.importorskip("torch")
    from motionkit.metrics import apd_batch

    pred = torch.randn(2, 3, 4, 5, dtype=torch.float32)
    np.testing.assert_allclose(apd_batch(pred), apd_batch(pred.double().numpy()), rtol=1e-12)


def test_frechet_distance():
    from motionkit.metrics import frechet_distance

    rng = np.random.default_rng(1)
    a = rng.normal(size=(500, 3))
    assert abs(frechet_distance(a, a)) < 1e-6
    shifted = frechet_distance(a, a + np.array([2.0, 0.0, 0.0]))
    np.testing.assert_allclose(shifted, 4.0, rtol=1e-6)
    with pytest.raises(ValueError, match="at least 2 feature rows"):
        frechet_distance(a[:1], a)
    bad = a.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        frechet_distance(bad, a)
