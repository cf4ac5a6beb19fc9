"""Every loss term of Mix-StAGE (t1) and the DiffGAN-aligned step (t2..tN), named as the paper names them.

The original uses one criterion, ``torch.nn.L1Loss`` (``-loss L1Loss``), for reconstruction AND the adversarial
terms: a least-absolute-deviation GAN with targets 1 (real) / 0 (fake) and no sigmoid on D.

The models return raw outputs (pose, logits, latents); :func:`generator_losses` and :func:`discriminator_losses`
turn them into a dict of weighted named terms plus the total (``"G"`` / ``"D"``), which the training loop logs
term by term. A term is a function in :data:`GENERATOR_TERMS` ``(outputs, batch) -> scalar or None`` (None: it does
not apply to this step); its weight is :func:`term_weights`, from the config (``lambda_*`` fields, overridden or
extended by ``loss_weights``). Adding a term = one entry in ``GENERATOR_TERMS`` and its weight in the config.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from motionkit.errors import ConfigError


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_rec = mean |y_hat - y| over all elements (z-normalised pose space).

    At t>=2 the target of old-speaker rows is the frozen source generator's output (pseudo label): this is the
    continual ("ccf") term of the output-domain shift."""
    return (pred - target).abs().mean()


def adversarial_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """L_adv = mean |D(v(y_hat)) - 1| (L1 GAN; weighted by lambda_gan, which follows the lambda schedule)."""
    return (d_fake - 1).abs().mean()


def discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor, lambda_D: float) -> torch.Tensor:
    """L_D = mean |D(v(y)) - 1| + lambda_D * mean |D(v(G(x)))| (L1 GAN)."""
    return (d_real - 1).abs().mean() + lambda_D * d_fake.abs().mean()


def cluster_loss(cluster_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_cluster = CE(cluster logits (B, K, T), k-means labels of the target frames (B, T))."""
    return F.cross_entropy(cluster_logits, labels)


def identity_loss(style_logits: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """id_in / id_out = CE(pose-style encoder logits (B, S), style id (B,)): on the GT pose (id_in) and on the
    generated pose with the encoder frozen (id_out); each weighted by lambda_id (0.1)."""
    return F.cross_entropy(style_logits, style)


def diff_loss(z_star: torch.Tensor, z_hat: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-modal grounding shift L_diff = mean(M * (z* - z_hat_l)^2), the mean over ALL elements (B x C x T,
    masked ones count as 0, as in the original); weighted by lambda_diff (1)."""
    return (mask * (z_star - z_hat) ** 2).mean()


def _if(key: str, fn: Callable) -> Callable:
    """A term that applies only when the outputs hold `key`."""
    return lambda out, batch: fn(out, batch) if key in out else None


# name -> (outputs, batch) -> unweighted scalar, or None when the term does not apply to this step.
# outputs: the generator's raw outputs plus "d_fake" (D on the rows it sees) and, at t>=2, "grounding".
GENERATOR_TERMS: dict[str, Callable] = {
    "rec": lambda out, batch: reconstruction_loss(out["pose"], batch.get("target", batch["pose"])),
    "adv": _if("d_fake", lambda out, batch: adversarial_loss(out["d_fake"])),
    "cluster": lambda out, batch: cluster_loss(out["cluster_logits"], batch["labels"]),
    "id_in": _if("style_logits", lambda out, batch: identity_loss(out["style_logits"], batch["style"])),
    "id_out": _if("style_logits_out", lambda out, batch: identity_loss(out["style_logits_out"], batch["style"])),
    "diff": _if("grounding", lambda out, batch: diff_loss(out["grounding"]["z_star"], out["grounding"]["z_hat"],
                                                          out["grounding"]["mask"])),
}


def term_weights(cfg, lambda_gan: float) -> dict[str, float]:
    """Weight of every generator term: the config's lambda_* fields, then ``cfg.loss_weights`` (overrides and new
    terms). ``lambda_gan`` is the current value of the lambda schedule."""
    weights = {"rec": cfg.lambda_rec, "adv": lambda_gan, "cluster": cfg.lambda_cluster, "id_in": cfg.lambda_id,
               "id_out": cfg.lambda_id, "diff": cfg.lambda_diff}
    weights.update(cfg.loss_weights)
    return weights


def check_terms(cfg) -> None:
    """Every name in ``cfg.loss_weights`` must be a term of GENERATOR_TERMS (called before training starts)."""
    unknown = sorted(set(cfg.loss_weights) - set(GENERATOR_TERMS))
    if unknown:
        raise ConfigError(f"loss_weights: unknown term(s) {', '.join(unknown)} (terms: {', '.join(GENERATOR_TERMS)})")


def generator_losses(cfg, out: dict, batch: dict, lambda_gan: float) -> dict[str, torch.Tensor]:
    """{term: weight * term for each applicable term, "G": their sum}. Terms with weight 0 are skipped."""
    weights = term_weights(cfg, lambda_gan)
    terms = {}
    for name, fn in GENERATOR_TERMS.items():
        w = weights.get(name, 0.0)
        if w == 0:
            continue
        value = fn(out, batch)
        if value is not None:
            terms[name] = value if w == 1 else w * value
    terms["G"] = sum(terms.values())
    return terms


def discriminator_losses(d_real: torch.Tensor, d_fake: torch.Tensor, lambda_D: float) -> dict[str, torch.Tensor]:
    """{"D_real": mean |D(v(y)) - 1|, "D_fake": lambda_D * mean |D(v(G(x)))|, "D": L_D}."""
    real, fake = (d_real - 1).abs().mean(), lambda_D * d_fake.abs().mean()
    return {"D_real": real, "D_fake": fake, "D": real + fake}


class LambdaScheduler:
    """lambda_gan and lambda_D: start at the config's values, +step every `every` training forwards, capped at
    `max` (pycasper ``LambdaScheduler``, kind incremental)."""

    def __init__(self, step=0.1, every=301, max_value=2.0):
        self.step_size, self.every, self.max_value = step, every, max_value
        self.calls = 0

    def value(self, start: float) -> float:
        return min(start + self.step_size * (self.calls // self.every), self.max_value)

    def step(self) -> None:
        self.calls += 1

    def state_dict(self) -> dict:
        return {"calls": self.calls}

    def load_state_dict(self, s: dict) -> None:
        self.calls = int(s["calls"])
