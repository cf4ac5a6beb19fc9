"""Labels shared by both networks: keypoint heatmaps, part affinity fields (PAFs), seatbelt mask.

Keypoints (9, the person's anatomical sides; ``motionkit.skeletons`` "nads_9"):
    0 R-wrist, 1 R-elbow, 2 R-shoulder, 3 neck, 4 L-shoulder, 5 L-elbow, 6 L-wrist, 7 R-hip, 8 L-hip.
Joints arrays are ``(..., P, 9, 3)`` = (x, y, v) in pixels of the network input (``image_size``), v >= 1 labelled.

PAFs: 8 limbs in the code's order (the README's list is garbled), channel 2k = x, 2k+1 = y of limb k:
    neck->R-sho, R-sho->R-elb, R-elb->R-wri, neck->L-sho, L-sho->L-elb, L-elb->L-wri, neck->R-hip, neck->L-hip.

NADS-Net targets live on the stride-4 grid (96x96 at 384; cell g has centre 1.5 + 4g px); the generator's
26-channel condition (9 heat + 16 PAF + 1 belt) lives on the stride-1 grid at the full input size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

KEYPOINT_NAMES = ("r_wrist", "r_elbow", "r_shoulder", "neck", "l_shoulder", "l_elbow", "l_wrist", "r_hip", "l_hip")
NUM_KEYPOINTS = 9
LIMBS = ((3, 2), (2, 1), (1, 0), (3, 4), (4, 5), (5, 6), (3, 7), (3, 8))
NUM_PAF = 2 * len(LIMBS)
CONDITION_CHANNELS = NUM_KEYPOINTS + NUM_PAF + 1
FLIP_PERM = (6, 5, 4, 3, 2, 1, 0, 8, 7)  # left <-> right
HEAT_CUTOFF = 4.6052  # exp(-4.6052) = 0.01: values below are set to 0 (original)


def _grid(size: int, stride: int, device) -> torch.Tensor:
    """Centres of the map cells in input pixels: (stride - 1)/2 + stride * g  (1.5 + 4g at stride 4)."""
    return torch.arange(size, device=device, dtype=torch.float32) * stride + (stride - 1) / 2.0


def render_heatmaps(joints: torch.Tensor, size: int, stride: int, sigma: float) -> torch.Tensor:
    """Gaussian keypoint heatmaps.

    joints (B, P, 9, 3) px -> (B, 9, size, size); exp(-d^2 / 2 sigma^2) with sigma in input pixels, cut to 0
    where the exponent exceeds 4.6052, summed over people and clipped at 1.
    """
    g = _grid(size, stride, joints.device)
    x, y, v = joints[..., 0], joints[..., 1], joints[..., 2]
    dx2 = (g.view(1, 1, 1, 1, -1) - x[..., None, None]) ** 2  # B,P,9,1,W
    dy2 = (g.view(1, 1, 1, -1, 1) - y[..., None, None]) ** 2  # B,P,9,H,1
    expo = (dx2 + dy2) / (2.0 * sigma * sigma)
    heat = torch.where(expo > HEAT_CUTOFF, torch.zeros_like(expo), torch.exp(-expo))
    heat = heat * (v >= 1).float()[..., None, None]
    return heat.sum(dim=1).clamp(max=1.0)


def background_channel(heat: torch.Tensor) -> torch.Tensor:
    """Optional background channel clip(1 - max_k heat_k, 0, 1): (B, 9, H, W) -> (B, 1, H, W)."""
    return (1.0 - heat.max(dim=1, keepdim=True).values).clamp(0.0, 1.0)


def render_pafs(joints: torch.Tensor, size: int, stride: int, width_cells: float = 1.0) -> torch.Tensor:
    """Part affinity fields (OpenPose, arXiv 1611.08050): unit limb direction on the limb, 0 elsewhere.

    joints (B, P, 9, 3) px -> (B, 16, size, size). A cell belongs to limb a->b when its perpendicular distance
    to the line through a, b is <= ``width_cells`` cells and it lies inside the limb's bounding box grown by
    ``width_cells``; overlapping people are averaged.
    """
    b_, p_ = joints.shape[:2]
    # joint positions in map-cell units
    pos = (joints[..., :2] - (stride - 1) / 2.0) / stride
    vis = joints[..., 2] >= 1
    ia = torch.tensor([a for a, _ in LIMBS], device=joints.device)
    ib = torch.tensor([b for _, b in LIMBS], device=joints.device)
    a, b = pos[:, :, ia], pos[:, :, ib]                       # B,P,L,2
    ok = vis[:, :, ia] & vis[:, :, ib]
    d = b - a
    norm = d.norm(dim=-1, keepdim=True)
    ok = ok & (norm[..., 0] > 1e-6)
    u = d / norm.clamp(min=1e-6)                               # B,P,L,2
    g = torch.arange(size, device=joints.device, dtype=torch.float32)
    gx = g.view(1, 1, 1, 1, -1)
    gy = g.view(1, 1, 1, -1, 1)
    rx = gx - a[..., 0, None, None]
    ry = gy - a[..., 1, None, None]
    perp = (rx * u[..., 1, None, None] - ry * u[..., 0, None, None]).abs()
    w = width_cells
    lo = torch.minimum(a, b) - w
    hi = torch.maximum(a, b) + w
    inside = (gx >= lo[..., 0, None, None]) & (gx <= hi[..., 0, None, None]) \
        & (gy >= lo[..., 1, None, None]) & (gy <= hi[..., 1, None, None])
    on = (perp <= w) & inside & ok[..., None, None]            # B,P,L,H,W
    onf = on.float()
    count = onf.sum(dim=1)                                     # B,L,H,W
    vx = (onf * u[..., 0, None, None]).sum(dim=1) / count.clamp(min=1.0)
    vy = (onf * u[..., 1, None, None]).sum(dim=1) / count.clamp(min=1.0)
    paf = torch.stack([vx, vy], dim=2).reshape(b_, NUM_PAF, size, size)
    del p_
    return paf


def belt_target(mask: torch.Tensor, size: int, threshold_bug: bool = False) -> torch.Tensor:
    """Seatbelt target (B, 1, h, w) in [0, 1] -> (B, 1, size, size) in {0, 1}.

    Fixed: bicubic resize, threshold at 0.5. ``threshold_bug`` reproduces the original: only pixels that stay
    exactly 1.0 (255) after the bicubic resize survive ``astype(uint8)`` (an eroded mask).
    """
    if mask.shape[-1] != size or mask.shape[-2] != size:
        mask = F.interpolate(mask, size=(size, size), mode="bicubic", align_corners=False)
    if threshold_bug:
        return (torch.round(mask * 255.0) >= 255.0).float()
    return (mask >= 0.5).float()


def nads_targets(joints: torch.Tensor, image_size: int, sigma: float, paf_width: float = 1.0,
                 background: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """NADS-Net map targets on the stride-4 grid: heat (B, 9[+1], S/4, S/4), PAF (B, 16, S/4, S/4).

    ``sigma`` is given at 384 px and scaled to ``image_size``.
    """
    s = sigma * image_size / 384.0
    heat = render_heatmaps(joints, image_size // 4, 4, s)
    if background:
        heat = torch.cat([heat, background_channel(heat)], dim=1)
    return heat, render_pafs(joints, image_size // 4, 4, paf_width)


def condition(joints: torch.Tensor, belt: torch.Tensor, image_size: int, sigma: float,
              paf_width: float = 1.0) -> torch.Tensor:
    """The generator's 26-channel condition at stride 1: cat(heat 9, PAF 16, belt 1) -> (B, 26, S, S)."""
    s = sigma * image_size / 384.0
    heat = render_heatmaps(joints, image_size, 1, s)
    paf = render_pafs(joints, image_size, 1, paf_width)
    return torch.cat([heat, paf, belt], dim=1)


def flip_joints(joints: torch.Tensor, width: int) -> torch.Tensor:
    """Horizontal flip of (..., P, 9, 3) joints with the left/right swap (labels are re-rendered after)."""
    out = joints[..., list(FLIP_PERM), :].clone()
    out[..., 0] = (width - 1) - out[..., 0]
    return out
