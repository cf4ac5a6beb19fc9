"""Arm-pose augmentation (the poses the generator paints) and the joint random resize/translate.

Arm augmentation, per person whose torso is longer than ``min_torso_px`` (at 384 px; the front row) and per arm
whose shoulder, elbow and wrist are labelled; reference lengths upper arm = 0.77 torso, forearm = 0.9 upper arm:
- 'slightly': elbow and wrist each jittered uniformly by +-0.1 of their limb's reference length in x and y.
- 'highly', ``length_mode='keep'`` (fix, default): elbow = shoulder + l_up * u1, wrist = elbow + l_fore * u2 with
  random unit directions u1, u2 and the person's own bone lengths; directions are redrawn (up to 50 times) until
  the arm lies inside the image, else the arm is left as it was. Bone lengths are preserved exactly.
- 'highly', ``length_mode='sample'`` (original): lengths |clip(N(0.7L, 0.2L), 0.1L, L)| from the reference
  lengths, joints clipped to the image (which shortens arms at the border).
Torso = mean(|neck - R-hip|, |neck - L-hip|); ``torso_bug`` averages |neck - R-hip| with itself (original).
All randomness uses torch's global generator (seeded by the trainer, restored on resume).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from motionkit.errors import ConfigError

ARMS = ((2, 1, 0), (4, 5, 6))  # (shoulder, elbow, wrist): right, left


def _torso(p: torch.Tensor, torso_bug: bool) -> float:
    neck, rh, lh = p[3], p[7], p[8]
    if neck[2] < 1:
        return 0.0
    dists = []
    if rh[2] >= 1:
        dists.append(float((neck[:2] - rh[:2]).norm()))
    if torso_bug:
        return dists[0] if dists else 0.0  # (d + d) / 2
    if lh[2] >= 1:
        dists.append(float((neck[:2] - lh[:2]).norm()))
    return sum(dists) / len(dists) if dists else 0.0


def _rand_unit() -> torch.Tensor:
    a = float(torch.rand(())) * 2 * math.pi
    return torch.tensor([math.cos(a), math.sin(a)])


def _inside(pts: torch.Tensor, size: int) -> bool:
    return bool(((pts >= 0) & (pts <= size - 1)).all())


def augment_arms(joints: torch.Tensor, mode: str, image_size: int, min_torso_px: float = 70.0,
                 torso_bug: bool = False, length_mode: str = "keep") -> torch.Tensor:
    """joints (B, P, 9, 3) px -> augmented copy (the input is never modified; the original aliased it)."""
    if mode not in ("slightly", "highly"):
        raise ConfigError(f"arm_augment_type: unknown value {mode!r} (slightly | highly)")
    if length_mode not in ("keep", "sample"):
        raise ConfigError(f"arm_length_mode: unknown value {length_mode!r} (keep | sample)")
    out = joints.detach().cpu().clone()
    thr = min_torso_px * image_size / 384.0
    for b in range(out.shape[0]):
        for p in range(out.shape[1]):
            person = out[b, p]
            torso = _torso(person, torso_bug)
            if torso <= thr:
                continue
            ref_up = 0.77 * torso
            ref_fore = 0.9 * ref_up
            for s, e, w in ARMS:
                if min(person[s, 2], person[e, 2], person[w, 2]) < 1:
                    continue
                sho, elb, wri = person[s, :2].clone(), person[e, :2].clone(), person[w, :2].clone()
                if mode == "slightly":
                    elb = elb + (torch.rand(2) * 2 - 1) * 0.1 * ref_up
                    wri = wri + (torch.rand(2) * 2 - 1) * 0.1 * ref_fore
                    elb, wri = elb.clamp(0, image_size - 1), wri.clamp(0, image_size - 1)
                elif length_mode == "sample":
                    l1 = abs(float(torch.normal(0.7 * ref_up, 0.2 * ref_up, ()).clamp(0.1 * ref_up, ref_up)))
                    l2 = abs(float(torch.normal(0.7 * ref_fore, 0.2 * ref_fore, ()).clamp(0.1 * ref_fore, ref_fore)))
                    elb = (sho + l1 * _rand_unit()).clamp(0, image_size - 1)
                    wri = (elb + l2 * _rand_unit()).clamp(0, image_size - 1)
                else:
                    l1, l2 = float((elb - sho).norm()), float((wri - elb).norm())
                    for _ in range(50):
                        ne = sho + l1 * _rand_unit()
                        nw = ne + l2 * _rand_unit()
                        if _inside(torch.stack([ne, nw]), image_size):
                            elb, wri = ne, nw
                            break
                person[e, :2], person[w, :2] = elb, wri
    return out.to(joints.device)


def random_resize_translate(images: torch.Tensor, joints: torch.Tensor, belt: torch.Tensor,
                            scales=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), fill: float = 0.0):
    """Joint random resize (independent s_h, s_w from ``scales``) and translate of images, joints and belt.

    images (B, C, S, S) (already normalised; the canvas is filled with ``fill``, 0 = the mean colour; the original
    filled 128 in normalised space), joints (B, P, 9, 3) px, belt (B, 1, S, S). Returns the three, transformed.
    The map targets are re-rendered afterwards from the moved joints, so PAFs stay unit vectors and the Gaussian
    keeps sigma 7 px (the original resized the maps themselves).
    """
    bsz, _, size, _ = images.shape
    out_i = torch.full_like(images, fill)
    out_b = torch.zeros_like(belt)
    out_j = joints.clone()
    sc = torch.tensor(list(scales), dtype=torch.float32)
    for b in range(bsz):
        sh, sw = float(sc[torch.randint(len(sc), ())]), float(sc[torch.randint(len(sc), ())])
        h, w = max(1, round(size * sh)), max(1, round(size * sw))
        oy, ox = int(torch.randint(size - h + 1, ())), int(torch.randint(size - w + 1, ()))
        out_i[b, :, oy:oy + h, ox:ox + w] = F.interpolate(images[b:b + 1], size=(h, w), mode="bilinear",
                                                          align_corners=False, antialias=True)[0]
        out_b[b, :, oy:oy + h, ox:ox + w] = (F.interpolate(belt[b:b + 1], size=(h, w), mode="bilinear",
                                                           align_corners=False) >= 0.5).float()[0]
        vis = out_j[b, ..., 2] >= 1
        out_j[b, ..., 0] = torch.where(vis, (joints[b, ..., 0] + 0.5) * w / size - 0.5 + ox, 0.0)
        out_j[b, ..., 1] = torch.where(vis, (joints[b, ..., 1] + 0.5) * h / size - 0.5 + oy, 0.0)
    return out_i, out_j, out_b
