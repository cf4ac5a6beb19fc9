"""Low-level metrics shared by evaluation and prediction (no files, no rendering)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def decode_peaks(heat: torch.Tensor, size: int, threshold: float = 0.1, max_peaks: int = 4):
    """heat (B, 9, h, w) -> list over batch of list over keypoints of (K, 3) arrays (x, y, score) at ``size`` px."""
    up = F.interpolate(heat[:, :9].float(), size=(size, size), mode="bilinear", align_corners=False)
    is_max = (up == F.max_pool2d(up, 3, stride=1, padding=1)) & (up > threshold)
    out = []
    for b in range(up.shape[0]):
        per = []
        for k in range(up.shape[1]):
            ys, xs = torch.nonzero(is_max[b, k], as_tuple=True)
            scores = up[b, k, ys, xs]
            order = scores.argsort(descending=True)[:max_peaks]
            per.append(torch.stack([xs[order].float(), ys[order].float(), scores[order]], 1).cpu().numpy())
        out.append(per)
    return out
