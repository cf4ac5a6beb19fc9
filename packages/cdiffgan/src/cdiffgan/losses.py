"""Loss terms of Mix-StAGE (t1) and the DiffGAN-aligned step (t2..tN), with the paper's names.

The original uses one criterion, ``torch.nn.L1Loss`` (``-loss L1Loss``), for reconstruction AND the adversarial
terms: a least-absolute-deviation GAN with targets 1 (real) / 0 (fake) and no sigmoid on D.
"""

from __future__ import annotations

import torch


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_rec = mean |y_hat - y| over all elements (z-normalised pose space); weight 1.

    At t>=2 the target of old-speaker rows is the frozen source generator's output (pseudo label): this is the
    continual ("ccf") term of the output-domain shift."""
    return (pred - target).abs().mean()


def generator_adversarial_loss(d_fake: torch.Tensor, lambda_gan: float) -> torch.Tensor:
    """L_adv = lambda_gan * mean |D(v(y_hat)) - 1| (L1 GAN); lambda_gan follows the lambda schedule (1 -> 2)."""
    return lambda_gan * (d_fake - 1).abs().mean()


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor, lambda_D: float) -> torch.Tensor:
    """L_D = mean |D(v(y)) - 1| + lambda_D * mean |D(v(G(x)))| (L1 GAN)."""
    return (d_real - 1).abs().mean() + lambda_D * d_fake.abs().mean()


def topk_time_mask(z_l: torch.Tensor, z_star: torch.Tensor, k: int) -> torch.Tensor:
    """Grounding mask M (B, 1, T): 1 at the k time steps with the largest mean-over-channels |z_l - z*|."""
    score = (z_l - z_star).abs().mean(1)                       # (B, T)
    idx = score.topk(min(k, score.shape[1]), dim=1).indices
    return torch.zeros_like(score).scatter_(1, idx, 1.0)[:, None]


def diff_loss(z_star: torch.Tensor, z_hat: torch.Tensor, mask: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
    """Cross-modal grounding shift L_diff = lambda * mean(M * (z* - z_hat_l)^2), the mean over ALL elements
    (B x C x T, masked ones count as 0, as in the original); lambda = 1."""
    return weight * (mask * (z_star - z_hat) ** 2).mean()


class LambdaScheduler:
    """lambda_gan and lambda_D: start at 1, +step every `every` training forwards, capped at `max` (pycasper)."""

    def __init__(self, start=1.0, step=0.1, every=301, max_value=2.0):
        self.start, self.step_size, self.every, self.max_value = start, step, every, max_value
        self.calls = 0

    @property
    def value(self) -> float:
        return min(self.start + self.step_size * (self.calls // self.every), self.max_value)

    def step(self) -> None:
        self.calls += 1

    def state_dict(self) -> dict:
        return {"calls": self.calls}

    def load_state_dict(self, s: dict) -> None:
        self.calls = int(s["calls"])
