import math

import torch

from nads_spade import labels as L


def person(**joints):
    """(1, 1, 9, 3) joints with the given name -> (x, y) labelled, others unlabelled."""
    j = torch.zeros(1, 1, 9, 3)
    for name, (x, y) in joints.items():
        k = L.KEYPOINT_NAMES.index(name)
        j[0, 0, k] = torch.tensor([x, y, 2.0])
    return j


def test_heatmap_peak_at_keypoint_stride1_and_stride4():
    j = person(neck=(20.0, 30.0))
    h = L.render_heatmaps(j, 64, 1, sigma=3.0)
    assert h.shape == (1, 9, 64, 64)
    k = L.KEYPOINT_NAMES.index("neck")
    assert h[0, k].argmax().item() == 30 * 64 + 20
    assert math.isclose(h[0, k, 30, 20].item(), 1.0)
    assert h[0, k].sum() > 0 and h[0, 0].abs().sum() == 0  # other channels empty
    # stride 4: cell g has centre 1.5 + 4 g, so a joint at 21.5 px peaks (=1) at cell 5
    h4 = L.render_heatmaps(person(neck=(21.5, 9.5)), 16, 4, sigma=7.0)
    assert h4[0, k].argmax().item() == 2 * 16 + 5 and math.isclose(h4[0, k, 2, 5].item(), 1.0, rel_tol=1e-6)
    # value follows exp(-d^2 / 2 sigma^2) and is cut to 0 beyond exponent 4.6052
    assert math.isclose(h[0, k, 30, 23].item(), math.exp(-9 / 18), rel_tol=1e-5)
    assert h[0, k, 30, 20 + 10].item() == 0.0  # 100 / 18 = 5.6 > 4.6052


def test_heatmaps_sum_over_people_clipped():
    j = torch.cat([person(neck=(10.0, 10.0)), person(neck=(11.0, 10.0))], dim=1)
    h = L.render_heatmaps(j, 32, 1, sigma=3.0)
    assert h.max().item() <= 1.0 and h[0, 3, 10, 10].item() == 1.0


def test_paf_unit_vectors_along_limb_and_zero_off_it():
    # neck -> R-shoulder (limb 0) pointing left, horizontal at y = 20
    j = person(neck=(40.0, 20.0), r_shoulder=(10.0, 20.0))
    paf = L.render_pafs(j, 64, 1, width_cells=1.0)
    assert paf.shape == (1, 16, 64, 64)
    vx, vy = paf[0, 0], paf[0, 1]
    for x in (12, 25, 38):
        for y in (19, 20, 21):
            assert math.isclose(vx[y, x].item(), -1.0) and vy[y, x].item() == 0.0
    assert vx[23, 25].item() == 0.0 and vx[20, 50].item() == 0.0  # off the limb / beyond its box
    assert paf[0, 2:].abs().sum().item() == 0.0  # other limbs unlabelled
    # diagonal limb: unit length everywhere it is set
    j = person(r_shoulder=(10.0, 10.0), r_elbow=(40.0, 50.0))
    paf = L.render_pafs(j, 64, 1)
    v = paf[0, 2:4]
    norm = v.norm(dim=0)
    on = norm > 0
    assert on.sum() > 30 and torch.allclose(norm[on], torch.ones_like(norm[on]), atol=1e-6)
    assert torch.allclose(v[:, on].mean(1), torch.tensor([0.6, 0.8]), atol=1e-6)


def test_paf_limb_order_matches_notes():
    assert L.LIMBS == ((3, 2), (2, 1), (1, 0), (3, 4), (4, 5), (5, 6), (3, 7), (3, 8))
    j = person(neck=(30.0, 10.0), l_hip=(40.0, 50.0))  # limb 7 = neck -> L-hip = channels 14, 15
    paf = L.render_pafs(j, 64, 1)
    assert paf[0, 14:16].abs().sum() > 0 and paf[0, :14].abs().sum() == 0


def test_condition_and_nads_target_shapes_at_384():
    j = person(neck=(190.0, 120.0), r_shoulder=(150.0, 130.0), r_hip=(170.0, 260.0))
    belt = torch.zeros(1, 1, 384, 384)
    belt[..., 100:200, 100:110] = 1
    c = L.condition(j, belt, 384, 7.0)
    assert c.shape == (1, 26, 384, 384) and torch.equal(c[0, 25], belt[0, 0])
    heat, paf = L.nads_targets(j, 384, 7.0)
    assert heat.shape == (1, 9, 96, 96) and paf.shape == (1, 16, 96, 96)
    # neck at 190 px -> cell (190 - 1.5) / 4 = 47.1
    assert heat[0, 3].argmax().item() == 30 * 96 + 47


def test_belt_target_threshold_and_original_erosion():
    m = torch.zeros(1, 1, 8, 8)
    m[..., 2:6, 2:6] = 1.0
    m[..., 2, 2] = 0.9
    fixed = L.belt_target(m, 8)
    bug = L.belt_target(m, 8, threshold_bug=True)
    assert fixed[0, 0, 2, 2] == 1 and bug[0, 0, 2, 2] == 0 and fixed.sum() == 16 and bug.sum() == 15


def test_flip_swaps_left_right():
    j = person(r_wrist=(10.0, 5.0), l_hip=(3.0, 4.0))
    f = L.flip_joints(j, 64)
    assert f[0, 0, L.KEYPOINT_NAMES.index("l_wrist"), 0] == 53.0
    assert f[0, 0, L.KEYPOINT_NAMES.index("r_hip"), 0] == 60.0
