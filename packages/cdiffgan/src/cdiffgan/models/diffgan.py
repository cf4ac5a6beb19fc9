"""DiffGAN generator for t>=2 (original ``StyleDiffGAN4_G``): learn only the *shifts* of a pretrained Mix-StAGE.

``G``     the previous step's generator; all of it frozen except the "big" modules (decoder, pose-style encoder,
          logits, cluster classifier, style embedding).
``G_src`` a frozen deep copy of the previous generator; it makes the pseudo labels of old speakers.

Cross-modal grounding shift (DiffGAN "timing"): z_l = decoder[-1](z_{l-1}) is the last sub-generator layer
(B, C*K, T). A free copy z* of z_l is optimised for ``inner_steps`` SGD steps (lr ``inner_lr``) to minimise
mean |mix(logits(z*)) - y|; the time mask M keeps the top-k frames of mean_c |z_l - z*|. The model returns z*, the
recomputed z_hat_l = decoder[-1](z_{l-1}.detach()) and M; ``cdiffgan.losses.diff_loss`` turns them into L_diff,
which trains the last decoder layer towards the shifted z.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from .mixstage import BIG_MODULES, MixStAGE


def topk_time_mask(z_l: torch.Tensor, z_star: torch.Tensor, k: int) -> torch.Tensor:
    """Grounding mask M (B, 1, T): 1 at the k time steps with the largest mean-over-channels |z_l - z*|."""
    score = (z_l - z_star).abs().mean(1)                       # (B, T)
    idx = score.topk(min(k, score.shape[1]), dim=1).indices
    return torch.zeros_like(score).scatter_(1, idx, 1.0)[:, None]


def freeze_trunk(G: MixStAGE) -> None:
    for name, p in G.named_parameters():
        p.requires_grad_(name.split(".")[0] in BIG_MODULES)


def set_big_trainable(G: MixStAGE, on: bool) -> None:
    for m in BIG_MODULES:
        for p in getattr(G, m).parameters():
            p.requires_grad_(on)


def inner_optimise_autograd(G: MixStAGE, z_l, soft, y, steps: int, lr: float):
    """The original's loop: z* as a free parameter, `steps` torch SGD steps on mean |mix(logits(z*)) - y| with the
    big modules frozen (only z* gets a gradient). z_l (B,CK,T), soft (B,K,T), y (B,T,P). Returns (z*, loss)."""
    z = z_l.detach().clone().requires_grad_(True)
    opt = torch.optim.SGD([z], lr=lr)
    loss = z.new_zeros(())
    with torch.enable_grad():
        for _ in range(steps):
            loss = (G.mix(z, soft) - y).abs().mean()
            z.grad, = torch.autograd.grad(loss, z)
            opt.step()
    return z.detach(), loss.detach()


def inner_optimise_analytic(G: MixStAGE, z_l, soft, y, steps: int, lr: float):
    """Same SGD trajectory as :func:`inner_optimise_autograd`, in closed form and in the head's output space.

    The head is linear in z*: o_k = W_k z*_k + b_k, mix = sum_k soft_k o_k, and the SGD step is
    z*_k -= lr W_k^T u_k with u_k = soft_k * sign(mix - y) / N. Hence o_k -= lr (W_k W_k^T) u_k: each step costs a
    P x P product per cluster instead of the C x P products of a forward + backward, and z* = z_l - lr W_k^T sum u_k
    is formed once at the end. No autograd graph, no optimiser."""
    B, CK, T = z_l.shape
    K, P = G.K, G.P
    Ck = CK // K
    W = G.logits.weight.detach().view(K, P, Ck).float()                  # grouped 1x1 conv weights
    bias = G.logits.bias.detach().view(K, P, 1).float()
    zt = z_l.detach().float().view(B, K, Ck, T).permute(1, 2, 0, 3).reshape(K, Ck, B * T)
    s = soft.detach().float().permute(1, 0, 2).reshape(K, 1, B * T)
    yt = y.detach().float().permute(2, 0, 1).reshape(P, B * T)
    o = torch.bmm(W, zt)                                                  # (K, P, BT) without bias
    const = (s * bias).sum(0) - yt                                       # (P, BT)
    MM = torch.bmm(W, W.transpose(1, 2))                                  # (K, P, P)
    acc = torch.zeros_like(o)
    n = y.numel()
    loss = o.new_zeros(())
    for _ in range(steps):
        r = (s * o).sum(0) + const
        loss = r.abs().mean()
        u = s * (torch.sign(r) / n)                                       # (K, P, BT)
        o -= lr * torch.bmm(MM, u)
        acc += u
    z = zt - lr * torch.bmm(W.transpose(1, 2), acc)                       # (K, Ck, BT)
    return z.view(K, Ck, B, T).permute(2, 0, 1, 3).reshape(B, CK, T), loss


class StyleDiffGAN(nn.Module):
    def __init__(self, G_prev: MixStAGE, src_eval: bool = True):
        """src_eval=False is the original: G_src follows the wrapper into train mode, so its BatchNorm uses and
        updates batch statistics (and dropout is on) while it makes the pseudo labels."""
        super().__init__()
        self.src_eval = src_eval
        self.G = G_prev
        self.G_src = copy.deepcopy(G_prev)
        for p in self.G_src.parameters():
            p.requires_grad_(False)
        freeze_trunk(self.G)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.src_eval:      # ours: the frozen copy never updates its BatchNorm statistics
            self.G_src.eval()
        return self

    @torch.no_grad()
    def pseudo_labels(self, batch: dict, style_from_pose: bool = True) -> torch.Tensor:
        """G_src's output (B,T,P): style from its pose-style encoder on the stored real pose ("-src" modes) or
        from the batch's style ids ("-tgt" modes, where the inputs belong to the new speaker)."""
        y = batch["pose"] if style_from_pose else None
        return self.G_src.head(self.G_src.trunk(batch), batch["style"], y=y, with_id_out=False)["pose"]

    def grounding_shift(self, h, style, y, steps, lr, topk, inner="analytic") -> dict:
        """h (B,C,T) trunk features, style ids (B,), y (B,T,P) targets (GT / pseudo labels).
        Returns {"z_star" (B,CK,T), "z_hat" (B,CK,T) with grad to decoder[-1], "mask" (B,1,T), "inner" (detached
        inner-loop loss)}."""
        G = self.G
        with torch.no_grad():
            f, _ = G.style_features(h, style, y)
            soft = G.classify_cluster(f).softmax(1)
            z_prev = G.decoder[:-1](f.repeat(1, G.K, 1))
            z_l = G.decoder[-1](z_prev)
        with torch.autocast(device_type=h.device.type, enabled=False):
            fn = inner_optimise_analytic if inner == "analytic" else inner_optimise_autograd
            z_star, inner_loss = fn(G, z_l.float(), soft.float(), y.float(), steps, lr)
        mask = topk_time_mask(z_l.float(), z_star, topk)
        z_hat = G.decoder[-1](z_prev.detach()).float()
        return {"z_star": z_star, "z_hat": z_hat, "mask": mask, "inner": inner_loss}
