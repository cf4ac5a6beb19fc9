"""DeepNAG's loss (deepnag.md §1.2) and DeepGAN's WGAN-GP losses (§2).

DeepNAG, per training step, with real1 (B, T, F), real2 (same classes, different samples), fake1 = G(z1, y),
fake2 = G(z2, y) detached:

    L = ( L_sdtw-ed + L_sdtw-cos + L_resample ) / 3
    L_m = AHD_m(real1, fake1) + | AHD_m(fake1, sg(fake2)) - AHD_m(real1, real2) |         m in {ed, cos}
    L_resample = 1000 * MSE( ||fake1[t+1] - fake1[t]||, pathlength / T )

Soft-DTW is motionkit.softdtw.pairwise_soft_dtw (gamma 0.1, no band, no normalisation: raw values, which
can be negative) restricted to same-class pairs by a mask.
"""

from __future__ import annotations

import torch

from motionkit.errors import ConfigError
from motionkit.softdtw import pairwise_soft_dtw


def class_aware_ahd(a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor, dist: str = "sqeuclidean",
                    gamma: float = 0.1) -> torch.Tensor:
    """Class-aware average Hausdorff distance AHD_m(A, B, y) between two labelled sets of sequences.

    a, b: (B, T, D) with the same labels (B,) (element k of both sets has class y_k).
        d_ij = sDTW_m(a_i, b_j) for y_i == y_j (other pairs +inf, never computed)
        ab_i = min_j d_ij ;  ba_j = min_i d_ij
        h_k  = 1/2 ( mean_{i: y_i = y_k} ab_i + mean_{j: y_j = y_k} ba_j )
        AHD  = sum_k h_k          (a sum over the batch: class c counts n_c times, as in the original)
    Returns a scalar. Weight: 1 inside L_m.
    """
    same = labels[:, None] == labels[None, :]  # (B, B)
    d = pairwise_soft_dtw(a, b, gamma=gamma, dist=dist, mask=same)  # (B, B), +inf off-class
    ab = d.min(dim=1).values  # finite: d[i, i] is always a same-class pair
    ba = d.min(dim=0).values
    weights = same.to(d.dtype)
    counts = weights.sum(dim=1)
    h = 0.5 * ((weights @ ab) / counts + (weights @ ba) / counts)
    return h.sum()


def direction_vectors(x: torch.Tensor) -> torch.Tensor:
    """(B, T, F) -> (B, T-1, F): v_t = p_{t+1} - p_t, the input of sdtw-cos."""
    return x[:, 1:] - x[:, :-1]


def sdtw_term(real1, real2, fake1, fake2, labels, metric: str, gamma: float = 0.1) -> dict[str, torch.Tensor]:
    """L_m = AHD_m(real1, fake1) + | AHD_m(fake1, sg(fake2)) - AHD_m(real1, real2) |, m = "ed" or "cos".

    "ed":  soft-DTW with squared Euclidean frame cost on the sequences ("sdtw-ed").
    "cos": soft-DTW with 1 - cos(v_a, v_b) on direction vectors ("sdtw-cos").
    Returns the total and its two parts (realism = first term, diversity = second term).
    """
    if metric == "cos":
        real1, real2, fake1, fake2 = map(direction_vectors, (real1, real2, fake1, fake2))
        dist = "cosine"
    elif metric == "ed":
        dist = "sqeuclidean"
    else:
        raise ConfigError(f"metric must be 'ed' or 'cos', got {metric!r}")
    realism = class_aware_ahd(real1, fake1, labels, dist, gamma)
    spread_fake = class_aware_ahd(fake1, fake2.detach(), labels, dist, gamma)
    with torch.no_grad():
        spread_real = class_aware_ahd(real1, real2, labels, dist, gamma)
    diversity = (spread_fake - spread_real).abs()
    return {"total": realism + diversity, "realism": realism, "diversity": diversity}


def resample_loss(fake: torch.Tensor, weight: float = 1000.0, divide_by_t: bool = True) -> torch.Tensor:
    """Equidistance term: weight * MSE(seg_t, target), seg_t = ||fake[:, t+1] - fake[:, t]||_2.

    target = (sum_t seg_t) / T per sequence (the original divides by the T points, not the T-1 segments;
    divide_by_t=False uses T-1, which makes equal spacing an exact minimum). The path length is not detached.
    """
    seg = torch.linalg.vector_norm(fake[:, 1:] - fake[:, :-1], dim=-1)  # (B, T-1)
    denom = fake.shape[1] if divide_by_t else fake.shape[1] - 1
    target = seg.sum(dim=1, keepdim=True) / denom
    return weight * torch.nn.functional.mse_loss(seg, target.expand_as(seg))


def deepnag_loss(real1, real2, fake1, fake2, labels, gamma: float = 0.1, resample_weight: float = 1000.0,
                 divide_by_t: bool = True) -> dict[str, torch.Tensor]:
    """L = (L_sdtw-ed + L_sdtw-cos + L_resample) / 3. Returns {"loss", "loss_ed", "loss_cos", "loss_resample"}."""
    ed = sdtw_term(real1, real2, fake1, fake2, labels, "ed", gamma)
    cos = sdtw_term(real1, real2, fake1, fake2, labels, "cos", gamma)
    res = resample_loss(fake1, resample_weight, divide_by_t)
    loss = (ed["total"] + cos["total"] + res) / 3
    return {"loss": loss, "loss_ed": ed["total"], "loss_cos": cos["total"], "loss_resample": res,
            "ahd_ed_real_fake": ed["realism"], "diversity_ed": ed["diversity"]}


# ------------------------------------------------------------------------------------------------ DeepGAN
def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor,
                     weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP penalty: weight * mean_b (||grad_x_hat D(x_hat, y)||_2 - 1)^2, x_hat = a real + (1 - a) fake.

    a ~ U(0, 1) per sample, broadcast over time and features; the gradient is flattened per sample. Needs a
    critic that is twice differentiable (DoubleBackwardGRU). Weight lambda = 10.
    """
    alpha = torch.rand(real.shape[0], 1, 1, device=real.device, dtype=real.dtype)
    x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(x_hat, labels)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    return weight * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def critic_loss(critic, real, fake, labels, gp_weight: float = 10.0) -> dict[str, torch.Tensor]:
    """L_D = E[D(fake)] - E[D(real)] + GP. `neg_loss_d` = -L_D (the original's "best" criterion);
    `loss_d_real` = E[D(real)], `loss_d_fake` = E[D(fake)] and `wasserstein` = their difference are logged as the
    original names them (`wassersteind_d`)."""
    d_real = critic(real, labels).mean()
    d_fake = critic(fake, labels).mean()
    gp = gradient_penalty(critic, real, fake, labels, gp_weight)
    loss = d_fake - d_real + gp
    return {"loss_d": loss, "gp": gp, "wasserstein": d_real - d_fake, "neg_loss_d": -loss.detach(),
            "loss_d_real": d_real.detach(), "loss_d_fake": d_fake.detach()}


def generator_adv_loss(critic, fake, labels) -> torch.Tensor:
    """L_G = -E[D(G(z, y), y)]."""
    return -critic(fake, labels).mean()
