import pytest
import torch

from nads_spade import labels as L
from nads_spade.augment import augment_arms, random_resize_translate


def seated(n=1, size=384, torso=140.0):
    j = torch.zeros(n, 1, 9, 3)
    neck = torch.tensor([190.0, 120.0])
    pts = {3: neck, 2: neck + torch.tensor([-60.0, 5]), 4: neck + torch.tensor([60.0, 5]),
           1: neck + torch.tensor([-70.0, 100]), 5: neck + torch.tensor([70.0, 100]),
           0: neck + torch.tensor([-30.0, 170]), 6: neck + torch.tensor([30.0, 170]),
           7: neck + torch.tensor([-40.0, torso]), 8: neck + torch.tensor([40.0, torso])}
    for k, p in pts.items():
        j[:, 0, k, :2] = p
        j[:, 0, k, 2] = 2
    return j


def bone(j, a, b):
    return (j[..., a, :2] - j[..., b, :2]).norm(dim=-1)


def test_highly_keeps_bone_lengths_and_stays_inside_the_image():
    torch.manual_seed(0)
    j = seated(64)
    before = j.clone()
    aug = augment_arms(j, "highly", 384)
    assert torch.equal(j, before)  # input not aliased
    for s, e, w in ((2, 1, 0), (4, 5, 6)):
        assert torch.allclose(bone(aug, s, e), bone(j, s, e), atol=1e-3)
        assert torch.allclose(bone(aug, e, w), bone(j, e, w), atol=1e-3)
    assert (aug[..., :2] >= 0).all() and (aug[..., :2] <= 383).all()
    moved = (aug[:, 0, 1, :2] - j[:, 0, 1, :2]).norm(dim=-1)
    assert (moved > 5).float().mean() > 0.8  # the elbows really moved
    assert torch.equal(aug[..., [2, 3, 4, 7, 8], :], j[..., [2, 3, 4, 7, 8], :])  # only elbows/wrists


def test_highly_near_the_border_stays_inside():
    torch.manual_seed(1)
    j = seated(32)
    j[..., :2] -= torch.tensor([170.0, 100.0])  # shoulders close to the top-left corner
    j[..., :2] = j[..., :2].clamp(min=1.0)
    aug = augment_arms(j, "highly", 384)
    assert (aug[..., :2] >= 0).all() and (aug[..., :2] <= 383).all()
    assert torch.allclose(bone(aug, 2, 1), bone(j, 2, 1), atol=1e-3)


def test_slightly_jitters_within_ten_percent_and_small_people_untouched():
    torch.manual_seed(0)
    j = seated(16)
    aug = augment_arms(j, "slightly", 384)
    ref_up = 0.77 * (40**2 + 140**2) ** 0.5  # 0.77 * torso, torso = |neck - hip| (both hips equally far)
    d = (aug[..., 1, :2] - j[..., 1, :2]).abs()
    assert (d <= 0.1 * ref_up + 1e-4).all() and d.max() > 0
    small = seated(4, torso=50.0)
    small[..., 7:9, 0] = small[..., 3:4, 0]  # torso 50 px < 70 px: back row, not augmented
    assert torch.equal(augment_arms(small, "highly", 384), small)


def test_original_sample_mode_clips_and_torso_bug_switch():
    torch.manual_seed(0)
    j = seated(8)
    aug = augment_arms(j, "highly", 384, length_mode="sample")
    assert (aug[..., :2] >= 0).all() and (aug[..., :2] <= 383).all()
    with pytest.raises(ValueError):
        augment_arms(j, "wildly", 384)


def test_resize_translate_moves_images_labels_and_belt_together():
    torch.manual_seed(3)
    img = torch.zeros(2, 3, 64, 64)
    belt = torch.zeros(2, 1, 64, 64)
    j = torch.zeros(2, 1, 9, 3)
    j[:, 0, 3] = torch.tensor([31.5, 31.5, 2.0])
    img[:, :, 28:36, 28:36] = 1.0
    belt[:, :, 28:36, 28:36] = 1.0
    oi, oj, ob = random_resize_translate(img, j, belt, (0.5,), fill=-1.0)
    assert oi.shape == img.shape and (oi == -1).float().mean() > 0.7  # 3/4 of the canvas is fill
    for b in range(2):
        x, y = oj[b, 0, 3, :2].round().long().tolist()
        assert oi[b, 0, y, x] > 0.5 and ob[b, 0, y, x] == 1  # the joint still sits on its bright square
    heat, _ = L.nads_targets(oj, 64, 7.0)
    assert heat.shape == (2, 9, 16, 16)
