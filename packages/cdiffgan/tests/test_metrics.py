import numpy as np
import pytest

from cdiffgan import metrics as M


def rnd(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def test_l1_and_vel_l1_hand_worked():
    gt = np.zeros((1, 3, 2))
    pred = np.array([[[1.0, 1.0], [1.0, 1.0], [4.0, 1.0]]])
    assert M.l1(pred, gt) == pytest.approx(9 / 6)
    # frame differences of pred: [0,0], [3,0] -> mean |.| over 4 entries = 0.75
    assert M.vel_l1(pred, gt) == pytest.approx(0.75)


def test_fid_identical_is_zero_and_mean_shift():
    x = rnd(10, 50, 6)
    assert M.fid(x, x) == pytest.approx(0.0, abs=1e-6)
    # same covariance, means differ by (1, 2, 0, ...): FID = |mu1 - mu2|^2 = 5
    shift = np.zeros(6)
    shift[:2] = (1, 2)
    assert M.fid(x + shift, x) == pytest.approx(5.0, abs=1e-6)


def test_pck_copy_is_one_and_threshold():
    gt = rnd(2, 5, 8)
    assert M.pck(gt, gt, 0.1) == 1.0
    # 2 joints at x=0 and x=10 (y=0): range 10 -> threshold 1 at alpha 0.1
    gt = np.array([[0.0, 10.0, 0.0, 0.0]])
    pred = np.array([[0.5, 11.5, 0.0, 0.0]])
    assert M.pck(pred, gt, 0.1) == 0.5 and M.pck(pred, gt, 0.2) == 1.0


def test_w1_of_speeds():
    T = 5
    gt = np.zeros((1, T, 2))
    gt[0, :, 0] = np.arange(T) * 2.0            # one joint moving at speed 2
    pred = np.zeros((1, T, 2))
    pred[0, :, 0] = np.arange(T) * 1.0          # speed 1
    assert M.w1(gt, gt, 1) == 0.0
    assert M.w1(pred, gt, 1) == pytest.approx(1.0, abs=1e-9)
    assert M.w1(pred, gt, 2) == pytest.approx(0.0, abs=1e-9)   # both have zero acceleration


def test_diversity_and_expressiveness():
    mean = np.zeros(4)
    p = np.array([[[3.0, 0.0, 4.0, 0.0]]])
    assert M.diversity(p, mean) == pytest.approx(7 / 4)
    gt = rnd(3, 10, 8)
    e = M.expressiveness(gt, gt, np.zeros(8))
    assert e["spatial"] == 0 and e["spatialNorm"] == 0 and e["energy"] == 0
    m = np.zeros_like(gt)
    assert M.expressiveness(m, gt, np.zeros(8))["spatialNorm"] == pytest.approx(1.0)


def test_cluster_scores():
    s = M.cluster_scores([0, 1, 2, 2], [0, 1, 2, 2], 3)
    assert s["F1"] == 1 and s["acc"] == 1
    s = M.cluster_scores([0, 0, 1, 1], [0, 1, 1, 1], 2)
    assert s["acc"] == 0.75


def test_continual_summaries():
    const = {1: {"a": 0.9}, 2: {"a": 0.9, "b": 0.7}, 3: {"a": 0.9, "b": 0.7, "c": 0.5}}
    assert M.forgetting(const, "pck") == 0.0
    assert M.forgetting(const, "FID") == 0.0
    t = {1: {"a": 0.9}, 2: {"a": 0.8, "b": 0.7}, 3: {"a": 0.85, "b": 0.5, "c": 0.6}}
    assert M.forgetting(t, "pck") == pytest.approx(((0.9 - 0.85) + (0.7 - 0.5)) / 2)
    f = {1: {"a": 10.0}, 2: {"a": 20.0, "b": 5.0}, 3: {"a": 30.0, "b": 4.0, "c": 1.0}}
    assert M.forgetting(f, "FID") == pytest.approx(((30 - 10) + (4 - 5)) / 2)
    assert M.average_seen(t) == pytest.approx({1: 0.9, 2: 0.75, 3: (0.85 + 0.5 + 0.6) / 3})


def test_pck_52_joint_scale_hand_worked():
    """The original's PCK scale: max(range x, range y) over all 52 joints with the root at (0, 0)."""
    pose = np.zeros((1, 104))
    pose[0, 0], pose[0, 52] = 640.0, 300.0           # root in image coords: set to 0 for the scale
    pose[0, 7], pose[0, 52 + 7] = 0.0, -110.0        # nose above the neck (a masked joint, still in the scale)
    pose[0, 3], pose[0, 52 + 3] = -170.0, 310.0      # right wrist
    pose[0, 6], pose[0, 52 + 6] = 170.0, 310.0       # left wrist
    ext = M.skeleton_extent(pose)
    assert ext.tolist() == [420.0]                   # y: -110 .. 310 beats x: -170 .. 170
    # 2 kept joints, errors 30 and 50: at alpha 0.1 the threshold is 42 -> half correct
    gt = np.array([[[0.0, 100.0, 0.0, 0.0]]])        # (1, 1, 2J): x [0, 100], y [0, 0]
    pred = gt + np.array([[[30.0, 0.0, 0.0, 50.0]]])
    assert M.pck(pred, gt, 0.1, extent=np.array([[420.0]])) == 0.5
    assert M.pck(pred, gt, 0.1) == 0.0               # the kept joints' own extent is 100: threshold 10
    assert M.pck(pred, gt, 0.1, extent=np.array([[420.0]]), per_joint=True).tolist() == [1.0, 0.0]
