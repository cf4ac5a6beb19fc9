import math

import pytest
import torch

from nads_spade.losses import dice_bce_loss, feature_matching_loss, hinge_d_loss, hinge_g_loss, map_mse_sum, nads_loss


def scale(*values):
    return [torch.tensor([0.0]), torch.tensor(values)]  # (feature, logits)


def test_hinge_against_hand_worked_values():
    real, fake = [scale(0.5, 2.0)], [scale(-2.0, 0.5)]
    # D: mean(relu(1 - [0.5, 2])) = 0.25 ; mean(relu(1 + [-2, 0.5])) = 0.75
    assert hinge_d_loss(real, fake).item() == pytest.approx(1.0)
    assert hinge_g_loss(fake).item() == pytest.approx(0.75)  # -mean([-2, 0.5])
    # two scales are averaged: second scale D = relu(1-0)+relu(1+0) = 2
    assert hinge_d_loss(real + [scale(0.0)], fake + [scale(0.0)]).item() == pytest.approx(1.5)


def test_feature_matching_hand_worked():
    fake = [[torch.tensor([1.0, 3.0]), torch.tensor([9.0])], [torch.tensor([2.0]), torch.tensor([9.0])]]
    real = [[torch.tensor([0.0, 0.0]), torch.tensor([0.0])], [torch.tensor([1.0]), torch.tensor([0.0])]]
    # (L1 = 2 on scale 1, 1 on scale 2) * 10 / num_D 2 = 15; logits not matched
    assert feature_matching_loss(fake, real, 10.0).item() == pytest.approx(15.0)


def test_dice_bce_against_hand_worked_values():
    p, t = torch.tensor([0.8, 0.2]), torch.tensor([1.0, 0.0])
    bce = -(math.log(0.8) + math.log(0.8)) / 2
    dice = (2 * 0.8 + 1) / (1.0 + 1.0 + 1)
    assert dice_bce_loss(p, t).item() == pytest.approx(bce + 1 - dice, rel=1e-5)
    # masked samples (no belt label) are ignored
    p2 = torch.stack([p, torch.tensor([0.1, 0.9])])
    t2 = torch.stack([t, torch.tensor([1.0, 0.0])])
    assert dice_bce_loss(p2, t2, torch.tensor([1.0, 0.0])).item() == pytest.approx(bce + 1 - dice, rel=1e-5)
    assert dice_bce_loss(p2, t2, torch.tensor([0.0, 0.0])).item() == 0.0


def test_nads_loss_is_sum_mse_over_batch_plus_500_dice_bce():
    heat, heat_t = torch.ones(2, 9, 4, 4), torch.zeros(2, 9, 4, 4)
    paf, paf_t = torch.zeros(2, 16, 4, 4), torch.full((2, 16, 4, 4), 0.5)
    belt, belt_t = torch.full((2, 1, 8, 8), 0.5), torch.ones(2, 1, 8, 8)
    out = nads_loss((heat, paf, belt), heat_t, paf_t, belt_t, torch.ones(2))
    assert out["heat"].item() == pytest.approx(144.0) and map_mse_sum(paf, paf_t).item() == pytest.approx(64.0)
    db = math.log(2) + 1 - (2 * 64 + 1) / (64 + 128 + 1)
    assert out["belt"].item() == pytest.approx(db, rel=1e-5)
    assert out["total"].item() == pytest.approx(144 + 64 + 500 * db, rel=1e-5)


def test_dice_bce_from_logits_equals_the_probability_form_and_keeps_a_gradient():
    from nads_spade.losses import dice_bce_logits_loss

    z = torch.tensor([1.5, -0.5, 0.2, -2.0])
    t = torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert dice_bce_logits_loss(z, t).item() == pytest.approx(dice_bce_loss(torch.sigmoid(z), t).item(), rel=1e-5)
    dead = torch.full((4,), -80.0, requires_grad=True)  # sigmoid is 0 in float32: no gradient through p
    dice_bce_logits_loss(dead, t).backward()
    assert dead.grad[0] < 0 and dead.grad[2] < 0  # still pushed up on belt pixels
