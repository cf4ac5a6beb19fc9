"""Loss terms of both networks, each with its equation and weight (names as in SPADE / the project code).

GAN (train-gan), generator total:
    L_G = GAN_hinge_G + lambda_feat * GAN_Feat + lambda_vgg * VGG
          + lambda_keypoint * MSE(heat(fake), heat(real)) + lambda_paf * MSE(paf(fake), paf(real))
          + lambda_seatbelt * DiceBCE(belt(fake), belt(real))          (frozen NADS-Net, when given)
Discriminator: L_D = D_real + D_fake (hinge).
NADS-Net (train-nads): L = heat_MSE + PAF_MSE + lambda_belt (500) * DiceBCE(belt).
"""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from nads_spade.data.dataset import imagenet_normalize
from nads_spade.models.vgg19 import VGG19


def hinge_d_loss(real_outs: list[list[torch.Tensor]], fake_outs: list[list[torch.Tensor]]) -> torch.Tensor:
    """D_real + D_fake: mean over scales of [mean(relu(1 - D(real))) + mean(relu(1 + D(fake)))] (last outputs)."""
    n = len(real_outs)
    return sum(F.relu(1 - r[-1]).mean() + F.relu(1 + f[-1]).mean() for r, f in zip(real_outs, fake_outs)) / n


def hinge_g_loss(fake_outs: list[list[torch.Tensor]]) -> torch.Tensor:
    """GAN (generator hinge): mean over scales of -mean(D(fake)) (weight 1)."""
    return sum(-f[-1].mean() for f in fake_outs) / len(fake_outs)


def feature_matching_loss(fake_outs, real_outs, weight: float = 10.0) -> torch.Tensor:
    """GAN_Feat: sum_scales sum_layers(except logits) L1(D_l(fake), D_l(real).detach()) * lambda_feat / num_D."""
    n = len(fake_outs)
    total = fake_outs[0][0].new_zeros(())
    for f, r in zip(fake_outs, real_outs):
        for a, b in zip(f[:-1], r[:-1]):
            total = total + F.l1_loss(a, b.detach()) * weight / n
    return total


class VGGLoss(nn.Module):
    """VGG: sum_i w_i L1(phi_i(fake), phi_i(real).detach()), phi = relu1_1..relu5_1, w = 1/32, 1/16, 1/8, 1/4, 1.

    Images come in [-1, 1]; with ``imagenet_norm`` (fix) they are mapped to [0, 1] and ImageNet-normalised,
    without it they are fed raw like SPADE. ``weights`` = torchvision vgg19 state dict path; without one the
    loss is disabled with a warning (``enabled`` False) since random VGG features are meaningless.
    """

    LAYER_WEIGHTS = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)

    def __init__(self, weights: str = "", imagenet_norm: bool = True, allow_random: bool = False):
        super().__init__()
        self.vgg = VGG19().eval()
        self.imagenet_norm = imagenet_norm
        self.enabled = bool(weights) or allow_random
        if weights:
            self.vgg.load_torchvision(weights)
        elif not allow_random:
            warnings.warn("no vgg_weights given (torchvision vgg19-dcbb9e9d.pth): VGG perceptual loss is off",
                          stacklevel=2)

    def train(self, mode: bool = True):
        super().train(mode)
        self.vgg.eval()
        return self

    def _prep(self, x):
        return imagenet_normalize((x + 1) / 2) if self.imagenet_norm else x

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return fake.new_zeros(())
        fx, rx = self.vgg(self._prep(fake)), self.vgg(self._prep(real))
        return sum(w * F.l1_loss(a, b.detach()) for w, a, b in zip(self.LAYER_WEIGHTS, fx, rx))


def dice_bce_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
                  smooth: float = 1.0) -> torch.Tensor:
    """DiceBCE = BCE_mean(p, t) + 1 - (2 sum(p t) + 1) / (sum p + sum t + 1), over the whole batch.

    ``pred`` are probabilities in [0, 1]. ``mask`` (B,) drops samples without a belt label (COCO).
    """
    if mask is not None:
        keep = mask > 0
        if not bool(keep.any()):
            return pred.sum() * 0.0
        pred, target = pred[keep], target[keep]
    p = pred.reshape(-1)  # no clamp (the project had none): a clamp would zero the gradient of saturated pixels
    t = target.reshape(-1)
    bce = F.binary_cross_entropy(p, t)
    dice = (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)
    return bce + 1 - dice


def map_mse_sum(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """heat_MSE / PAF_MSE of NADS-Net: sum of squared errors / batch size (weight 1)."""
    return ((pred - target) ** 2).sum() / pred.shape[0]


def dice_bce_logits_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None,
                         smooth: float = 1.0) -> torch.Tensor:
    """DiceBCE from logits: BCE-with-logits (gradient 2(p - t) never vanishes) + the same Dice on sigmoid."""
    if mask is not None:
        keep = mask > 0
        if not bool(keep.any()):
            return logits.sum() * 0.0
        logits, target = logits[keep], target[keep]
    z, t = logits.reshape(-1), target.reshape(-1)
    p = torch.sigmoid(z)
    dice = (2 * (p * t).sum() + smooth) / (p.sum() + t.sum() + smooth)
    return F.binary_cross_entropy_with_logits(z, t) + 1 - dice


def nads_loss(out, heat_t, paf_t, belt_t, belt_valid, lambda_belt: float = 500.0,
              belt_logits: bool = False) -> dict[str, torch.Tensor]:
    """NADS-Net loss: heat_MSE + PAF_MSE + lambda_belt * DiceBCE(belt). Returns the terms and ``total``.

    ``belt_logits``: ``out[2]`` holds the belt's logit (NADSNet(x, belt_logits=True)) and the BCE is computed
    from it, which keeps a gradient where the probability has saturated."""
    heat, paf, belt = out
    belt_term = dice_bce_logits_loss if belt_logits else dice_bce_loss
    terms = {"heat": map_mse_sum(heat, heat_t), "paf": map_mse_sum(paf, paf_t),
             "belt": belt_term(belt, belt_t, belt_valid)}
    terms["total"] = terms["heat"] + terms["paf"] + lambda_belt * terms["belt"]
    return terms


def frozen_nads_losses(nads: nn.Module, fake: torch.Tensor, real: torch.Tensor, fake_norm_bug: bool = False,
                       lambdas=(100.0, 100.0, 1.0)) -> dict[str, torch.Tensor]:
    """G_keypoint / G_paf / G_seatbelt: frozen NADS-Net on fake vs its prediction on the real image.

    lambda_keypoint * MSE_mean(heat(fake), heat(real)) + lambda_paf * MSE_mean(paf(fake), paf(real))
    + lambda_seatbelt * DiceBCE(belt(fake), belt(real)). Images are [-1, 1]; NADS-Net gets (x+1)/2 ImageNet-
    normalised (fix) or the raw [-1, 1] tensors (``fake_norm_bug``, the original).
    """
    prep = (lambda x: x) if fake_norm_bug else (lambda x: imagenet_normalize((x + 1) / 2))
    dev = next(nads.parameters()).device
    with torch.no_grad():
        hr, pr, br = nads(prep(real).to(dev))
    hf, pf, bf = nads(prep(fake).to(dev))
    out = {"G_keypoint": lambdas[0] * F.mse_loss(hf, hr), "G_paf": lambdas[1] * F.mse_loss(pf, pr),
           "G_seatbelt": lambdas[2] * dice_bce_loss(bf, br)}
    return {k: v.to(fake.device) for k, v in out.items()}
