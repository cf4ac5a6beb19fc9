"""Metrics (motionkit's batched DLow definitions, driven by metrics.py) against hand-worked arrays and motionkit's
per-window reference; the lonely-window switch of the original."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from diverse_sampling.data.dataset import EvalWindows
from diverse_sampling.metrics import evaluate_model, window_metrics
from diverse_sampling.models import CVAE
from motionkit import metrics as mk
from motionkit.metrics import ade_fde_batch, apd_batch, frechet_distance

SAMPLES = np.array([
    [[1.0, 0.0], [1.0, 0.0]],  # per-frame errors to zero GT: 1, 1
    [[0.0, 0.0], [0.0, 3.0]],  # 0, 3
    [[0.5, 0.0], [2.0, 0.0]],  # 0.5, 2
])


def test_apd_hand_cases():
    same = torch.ones(1, 4, 3, 2)
    assert apd_batch(same).item() == 0.0
    two = torch.zeros(1, 2, 1, 2)
    two[0, 1, 0] = torch.tensor([3.0, 4.0])
    assert apd_batch(two).item() == pytest.approx(5.0)
    line = torch.tensor([0.0, 1.0, 3.0]).reshape(1, 3, 1, 1)
    assert apd_batch(line).item() == pytest.approx(2.0)  # pairs 1, 3, 2


def test_ade_fde_hand_case():
    ade, fde = ade_fde_batch(torch.tensor(SAMPLES)[None], torch.zeros(1, 2, 2))
    assert ade.item() == pytest.approx(1.0) and fde.item() == pytest.approx(1.0)


def test_mmade_uses_the_whole_group():
    group = torch.tensor([[[0.0, 0.0], [0.0, 0.0]], [[0.0, 3.0], [0.0, 3.0]]])[None]  # (1, G=2, T, D)
    mask = torch.ones(1, 2, dtype=torch.bool)
    gt = torch.zeros(1, 2, 2)
    v = window_metrics(torch.tensor(SAMPLES)[None], gt, group.numpy(), mask.numpy())
    assert v["MMADE"][0] == pytest.approx((1.0 + 1.5) / 2)  # best ADE vs g0 = 1, vs g1 = 1.5 (sample 1)
    assert v["MMFDE"][0] == pytest.approx((1.0 + 0.0) / 2)
    only_own = np.array([[True, False]])
    assert window_metrics(torch.tensor(SAMPLES)[None], gt, group.numpy(), only_own)["MMADE"][0] == pytest.approx(1.0)


def test_batched_metrics_match_motionkit_reference():
    rng = np.random.default_rng(0)
    pred = rng.normal(size=(3, 5, 4, 6))
    gt = rng.normal(size=(3, 4, 6))
    groups = rng.normal(size=(3, 7, 4, 6))
    mask = np.ones((3, 7), dtype=bool)
    mask[1, 3:] = False
    v = window_metrics(torch.from_numpy(pred), torch.from_numpy(gt), groups, mask, mm_chunk=2)
    for i in range(3):
        assert v["APD"][i] == pytest.approx(mk.apd(pred[i]), rel=1e-7)
        assert v["ADE"][i] == pytest.approx(mk.ade(pred[i], gt[i]), rel=1e-7)
        assert v["FDE"][i] == pytest.approx(mk.fde(pred[i], gt[i]), rel=1e-7)
        assert v["MMADE"][i] == pytest.approx(mk.mmade(pred[i], groups[i][mask[i]]), rel=1e-7)
        assert v["MMFDE"][i] == pytest.approx(mk.mmfde(pred[i], groups[i][mask[i]]), rel=1e-7)


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 2.0) == pytest.approx(12.0, abs=1e-6)  # ||mu1 - mu2||^2 = 3 * 4


def test_lonely_window_averaging_switch(small_cfg):
    cfg = small_cfg("t1")
    torch.manual_seed(0)
    cvae = CVAE(16, cfg.t_his, cfg.t_pred, cfg.dct_n, cfg.hidden_dim, cfg.z_dim, 1, 1).eval()
    rng = np.random.default_rng(0)
    windows = rng.normal(size=(3, cfg.t_total, 48)).astype(np.float32) * 0.1
    groups = [np.array([0, 1]), np.array([1, 0]), np.array([2])]  # window 2 has no neighbour
    test = EvalWindows(windows, np.zeros(3, dtype=np.int64), groups, np.ones((3, 16), np.float32),
                   np.array([-1, 0, 1, -1, 3, 4, -1, 6, 7, 8, 7, 10, 11, 7, 13, 14]))
    per: dict = {}
    fixed = evaluate_model(replace(cfg, mm_retarget=False, legacy_skip_lonely_windows=False), cvae, None, test, "cpu",
                           details=per)
    legacy = evaluate_model(replace(cfg, mm_retarget=False, legacy_skip_lonely_windows=True), cvae, None, test, "cpu")
    for k in fixed:
        assert fixed[k] == pytest.approx(per[k].mean(), rel=1e-7)
        assert legacy[k] == pytest.approx(per[k][:2].sum() / 3, rel=1e-7)  # skipped, still counted
    assert per["MMADE"][2] == pytest.approx(per["ADE"][2])  # a group of one: MMADE = ADE
