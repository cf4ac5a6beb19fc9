"""Loss terms of both stages, named as in the paper/code, with their equation and weight (notes 2.4 and 3.2).

Shapes: pred and gt windows are (B, T, D) with T = t_his + t_pred and D = 3n (node layout, metres).
"""

from __future__ import annotations

import numpy as np
import torch

from diverse_sampling.data.kinematics import ANGLE_FUNCTIONS, bone_lengths

# --------------------------------------------------------------------------------------------------- t1 -----


def recons_loss(pred: torch.Tensor, gt: torch.Tensor, t_his: int) -> torch.Tensor:
    """recons = sum_{t >= t_his, d} (gt - pred)^2 / B.  Weight 1 (H36M and HumanEva)."""
    return ((gt[:, t_his:] - pred[:, t_his:]) ** 2).sum() / gt.shape[0]


def vec_loss(pred: torch.Tensor, gt: torch.Tensor, t_his: int) -> torch.Tensor:
    """vec (continuity) = sum_d (gt[t_his-1] - pred[t_his])^2 / B.  Weight 1000."""
    return ((gt[:, t_his - 1] - pred[:, t_his]) ** 2).sum() / gt.shape[0]


def kl_loss(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, e^logvar) || N(0, I)) = -1/2 sum_dims (1 + logvar - mean^2 - e^logvar), averaged over the
    leading dims (t1: over B, weight 0.5 H36M / 0.05 HumanEva; t2: over the B*K pairs, weight 0.5 / 0.1)."""
    kl = -0.5 * (1 + logvar - mean**2 - logvar.exp()).sum(-1)
    return kl.mean()


def recover_history_loss(pred: torch.Tensor, gt: torch.Tensor, t_his: int) -> torch.Tensor:
    """recoverhis = mean_{b, t < t_his} sum_d (pred - gt)^2.  Intended weight 100 (quirk 1: the original adds
    100 instead, i.e. effective weight 1; see ``legacy_recoverhis_bug``)."""
    return ((pred[:, :t_his] - gt[:, :t_his]) ** 2).sum(-1).mean()


def limb_length_loss(pred: torch.Tensor, gt: torch.Tensor, parents: np.ndarray) -> torch.Tensor:
    """limb = mean_{b, t} sum_bones (|bone_pred(t)| - |bone_gt(0)|)^2 over all t_total frames.  Weight 1000."""
    B, T, D = pred.shape
    ref = bone_lengths(gt[:, 0].reshape(B, D // 3, 3), parents)  # (B, n)
    cur = bone_lengths(pred.reshape(B, T, D // 3, 3), parents)  # (B, T, n)
    return ((cur - ref[:, None]) ** 2).sum(-1).mean()


def angle_loss(pred: torch.Tensor, t_his: int, dataset: str, bounds: dict[str, list[float]]) -> torch.Tensor:
    """GSPS valid-angle loss on the predicted future (notes 1.4).  Weight 100.

    For each angle with bounds [lo, hi]: if lo >= -0.98 add mean((cos - lo)^2 over cos < lo); if hi <= 0.98 add
    mean((cos - hi)^2 over cos > hi). (The caller adds the total only when it is > 0.)
    """
    B, T, D = pred.shape
    cos = ANGLE_FUNCTIONS[dataset](pred[:, t_his:].reshape(B, T - t_his, D // 3, 3))
    total = pred.new_zeros(())
    for name, (lo, hi) in bounds.items():
        v = cos.get(name)
        if v is None:
            continue
        if lo >= -0.98:
            low = v[v < lo]
            if low.numel():
                total = total + ((low - lo) ** 2).mean()
        if hi <= 0.98:
            high = v[v > hi]
            if high.numel():
                total = total + ((high - hi) ** 2).mean()
    return total


def t1_loss(pred, gt, mean, logvar, cfg, parents: np.ndarray, bounds) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted t1 total: w_recons*recons + w_vec*vec + w_kl*KL + w_his*recoverhis + w_limb*limb + w_angle*angle."""
    h = cfg.t_his
    terms = {
        "recons": recons_loss(pred, gt, h),
        "vec": vec_loss(pred, gt, h),
        "kl": kl_loss(mean, logvar),
        "his": recover_history_loss(pred, gt, h),
        "limb": limb_length_loss(pred, gt, parents),
        "angle": angle_loss(pred, h, cfg.dataset, bounds) if cfg.w_angle > 0 and bounds else pred.new_zeros(()),
    }
    his = terms["his"] + cfg.w_his if cfg.legacy_recoverhis_bug else cfg.w_his * terms["his"]
    total = (cfg.w_recons * terms["recons"] + cfg.w_vec * terms["vec"] + cfg.w_kl * terms["kl"] + his
             + cfg.w_limb * terms["limb"])
    if terms["angle"] > 0:
        total = total + cfg.w_angle * terms["angle"]
    logs = {k: float(v.detach()) for k, v in terms.items()}
    logs["total"] = float(total.detach())
    return total, logs


# --------------------------------------------------------------------------------------------------- t2 -----


def pairwise_distances(x: torch.Tensor) -> torch.Tensor:
    """(B, K, F) -> (B, K, K) Euclidean distances (safe gradient at 0)."""
    sq = (x * x).sum(-1)
    d2 = sq[:, :, None] + sq[:, None, :] - 2 * x @ x.transpose(1, 2)
    return d2.clamp_min(1e-12).sqrt()


def hinge_diversity_loss(futures: torch.Tensor, eta: float) -> torch.Tensor:
    """L_hdiv = mean over the K(K-1)/2 unordered pairs (and the batch) of max(0, eta - ||y_i - y_j||_2).

    futures (B, K, t_pred, D) or (B, K, F); the norm is over the whole flattened future. Weight 20 H36M
    (eta 25) / 100 HumanEva (eta 20). Equal to the poster's 1/(K(K-1)) sum_{i != j}.
    """
    x = futures.flatten(2)
    K = x.shape[1]
    d = pairwise_distances(x)
    iu = torch.triu_indices(K, K, offset=1, device=x.device)
    return torch.relu(eta - d[:, iu[0], iu[1]]).mean()


def best_of_k_loss(futures: torch.Tensor, gt_future: torch.Tensor, squared: bool = True) -> torch.Tensor:
    """L_acc = mean_b min_k ||y_b - y~_{b,k}||^2 (code; sum of squares over the future) or ||.||_2 (poster,
    ``squared=False``; quirk 4). futures (B, K, t_pred, D), gt_future (B, t_pred, D). Weight 40 / 25."""
    err = ((futures - gt_future[:, None]) ** 2).flatten(2).sum(-1)  # (B, K)
    if not squared:
        err = err.clamp_min(1e-12).sqrt()
    return err.min(dim=1).values.mean()


def t2_loss(futures, gt_future, mean, logvar, cfg) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted t2 total: t2_w_kl*KL + t2_w_acc*L_acc + t2_w_div*L_hdiv (no limb/angle terms in t2)."""
    terms = {
        "kl": kl_loss(mean, logvar),
        "acc": best_of_k_loss(futures, gt_future, cfg.t2_acc_squared),
        "div": hinge_diversity_loss(futures, cfg.eta),
    }
    total = cfg.t2_w_kl * terms["kl"] + cfg.t2_w_acc * terms["acc"] + cfg.t2_w_div * terms["div"]
    logs = {k: float(v.detach()) for k, v in terms.items()}
    logs["total"] = float(total.detach())
    return total, logs
