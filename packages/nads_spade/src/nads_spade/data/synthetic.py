"""Procedural in-cabin scenes written in the original layout (format a), the embedded default data set.

Each frame: a cabin (roof/door gradient, a bright side window, B-pillar), one or two seats with headrests,
seated people (torso, neck, head, shaded two-tone arms with hands, at the 9 keypoints), a diagonal seatbelt band
from the outer shoulder to the inner hip, occluders (steering wheel in front of the driver, arms over the belt),
lighting (global gain, window-side gradient, sensor noise), several body sizes and camera poses (scale, shift,
roll). The belt mask stores only the *visible* belt. Arm poses come from two ranges: ``narrow`` (hands near
lap and wheel; the small training set) and ``wide`` (arms raised and stretched; the held-out set of the
experiment), so GAN arm augmentation has something to add.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from nads_spade.data.formats import write_original_annotation

SKIN = [(224, 172, 140), (198, 134, 96), (141, 85, 54), (241, 194, 164), (110, 70, 45)]
SHIRTS = [(40, 60, 140), (150, 30, 30), (40, 120, 60), (200, 200, 200), (30, 30, 30), (180, 140, 50),
          (90, 40, 120)]


def _rot(p, c, a):
    x, y = p[0] - c[0], p[1] - c[1]
    return (c[0] + x * math.cos(a) - y * math.sin(a), c[1] + x * math.sin(a) + y * math.cos(a))


def _arm_angles(rng, spread: str, side: int):
    """Upper-arm and forearm directions (radians, image coordinates, y down) for one arm.

    side = -1 for the person's right arm (image left for a camera facing the person), +1 for the left arm.
    """
    if spread == "narrow":
        up = math.pi / 2 + side * rng.uniform(-0.05, 0.45)          # hanging down, slightly out
        fore = up - side * rng.uniform(0.3, 1.3)                     # forearm swings inwards (lap/wheel)
    else:
        up = rng.uniform(-math.pi, math.pi)                          # anywhere: raised, stretched, crossed
        fore = up + rng.uniform(-2.4, 2.4)
    return up, fore


def render_person(rng, cx, cy, torso, spread):
    """Keypoints (9, 2) of a seated person with its neck at (cx, cy) and torso length ``torso`` px."""
    sw, hw = 0.42 * torso * rng.uniform(0.9, 1.1), 0.3 * torso * rng.uniform(0.9, 1.1)
    k = np.zeros((9, 2), np.float32)
    k[3] = (cx, cy)
    k[2] = (cx - sw, cy + 0.06 * torso)
    k[4] = (cx + sw, cy + 0.06 * torso)
    k[7] = (cx - hw, cy + torso)
    k[8] = (cx + hw, cy + torso)
    upper = 0.77 * torso * rng.uniform(0.9, 1.1)
    fore = 0.9 * upper * rng.uniform(0.9, 1.1)
    for side, (sho, elb, wri) in ((-1, (2, 1, 0)), (1, (4, 5, 6))):
        a_up, a_fore = _arm_angles(rng, spread, side)
        k[elb] = k[sho] + upper * np.array([math.cos(a_up), math.sin(a_up)])
        k[wri] = k[elb] + fore * np.array([math.cos(a_fore), math.sin(a_fore)])
    return k


def _shaded_line(draw, a, b, width, colour, light=1.25):
    draw.line([tuple(a), tuple(b)], fill=tuple(int(c * 0.7) for c in colour), width=int(width))
    draw.line([tuple(a), tuple(b)], fill=colour, width=max(1, int(width * 0.7)))
    off = np.array([-width * 0.15, -width * 0.15])
    draw.line([tuple(a + off), tuple(b + off)], fill=tuple(min(255, int(c * light)) for c in colour),
              width=max(1, int(width * 0.25)))
    for p in (a, b):
        r = width / 2
        draw.ellipse([p[0] - r, p[1] - r, p[0] + r, p[1] + r], fill=colour)


def render_scene(rng: np.random.Generator, width: int, height: int, spread: str, passenger_prob: float):
    """One frame: (image uint8 (H, W, 3), belt mask uint8 (H, W) 0/255, people (P, 9, 3))."""
    img = Image.new("RGB", (width, height))
    d = ImageDraw.Draw(img)
    base = rng.uniform(40, 110, size=3)
    for y in range(height):  # roof-to-floor gradient
        t = y / height
        d.line([(0, y), (width, y)], fill=tuple(int(c * (1.1 - 0.5 * t)) for c in base))
    win_side = rng.choice([-1, 1])
    wx = 0 if win_side < 0 else int(width * 0.72)
    d.polygon([(wx, int(height * 0.08)), (wx + int(width * 0.28), int(height * 0.12)),
               (wx + int(width * 0.26), int(height * 0.5)), (wx, int(height * 0.55))],
              fill=tuple(int(v) for v in rng.uniform(170, 250, size=3)))
    d.rectangle([int(width * 0.47), 0, int(width * 0.53), height], fill=tuple(int(c * 0.6) for c in base))

    scale = rng.uniform(0.85, 1.2)
    roll = rng.uniform(-0.08, 0.08)
    shift = rng.uniform(-0.06, 0.06, size=2) * (width, height)
    seats = [(0.3, 1.0)] + ([(0.72, 0.85)] if rng.random() < passenger_prob else [])
    people = []
    mask = Image.new("L", (width, height), 0)
    md = ImageDraw.Draw(mask)
    layers = []
    for sx, size in seats:
        torso = height * 0.36 * scale * size * rng.uniform(0.85, 1.15)
        cx = width * sx + shift[0] + rng.uniform(-0.03, 0.03) * width
        cy = height * 0.38 + shift[1] + (1 - size) * height * 0.1
        # seat: backrest + headrest behind the person
        seat_col = tuple(int(v) for v in rng.uniform(20, 90, size=3))
        d.rounded_rectangle([cx - 0.75 * torso, cy - 0.2 * torso, cx + 0.75 * torso, cy + 1.5 * torso],
                            radius=int(0.2 * torso), fill=seat_col)
        d.rounded_rectangle([cx - 0.3 * torso, cy - 0.75 * torso, cx + 0.3 * torso, cy - 0.3 * torso],
                            radius=int(0.1 * torso), fill=seat_col)
        k = render_person(rng, cx, cy, torso, spread)
        k = np.array([_rot(p, (width / 2, height / 2), roll) for p in k], np.float32)
        layers.append((k, torso, sx < 0.5))
    for k, torso, is_driver in layers:
        skin = SKIN[rng.integers(len(SKIN))]
        shirt = SHIRTS[rng.integers(len(SHIRTS))]
        # torso polygon (shoulders, hips), shaded
        d.polygon([tuple(k[2]), tuple(k[4]), tuple(k[8] + (0.1 * torso, 0)), tuple(k[7] - (0.1 * torso, 0))],
                  fill=shirt)
        d.line([tuple(k[3]), tuple((k[7] + k[8]) / 2)], fill=tuple(int(c * 0.85) for c in shirt),
               width=max(1, int(0.05 * torso)))
        # neck + head
        neck_w = 0.16 * torso
        head_c = k[3] + np.array([rng.uniform(-0.05, 0.05) * torso, -0.38 * torso])
        d.line([tuple(k[3]), tuple(head_c)], fill=skin, width=int(neck_w))
        hr = 0.24 * torso
        d.ellipse([head_c[0] - hr * 0.85, head_c[1] - hr, head_c[0] + hr * 0.85, head_c[1] + hr], fill=skin)
        d.chord([head_c[0] - hr * 0.9, head_c[1] - hr * 1.1, head_c[0] + hr * 0.9, head_c[1] + hr * 0.3],
                180, 360, fill=tuple(int(v) for v in rng.uniform(10, 90, size=3)))  # hair
        # seatbelt: outer shoulder -> inner hip (driver: from its left shoulder side of the B-pillar)
        top = k[4] + (0.05 * torso, -0.05 * torso) if is_driver else k[2] - (0.05 * torso, 0.05 * torso)
        bottom = k[7] if is_driver else k[8]
        bw = int(max(2, 0.12 * torso))
        belt_col = tuple(int(v) for v in rng.uniform(15, 60, size=3))
        d.line([tuple(top), tuple(bottom)], fill=belt_col, width=bw)
        md.line([tuple(top), tuple(bottom)], fill=255, width=bw)
        # arms on top of the belt (occluding it): upper arm in shirt colour, forearm skin, hands
        aw = max(2, 0.13 * torso)
        for sho, elb, wri in ((2, 1, 0), (4, 5, 6)):
            _shaded_line(d, k[sho], k[elb], aw, shirt)
            _shaded_line(d, k[elb], k[wri], aw * 0.8, skin)
            r = aw * 0.6
            d.ellipse([k[wri][0] - r, k[wri][1] - r, k[wri][0] + r, k[wri][1] + r], fill=skin)
            for w_, a, b in ((aw, k[sho], k[elb]), (aw * 0.8, k[elb], k[wri])):
                md.line([tuple(a), tuple(b)], fill=0, width=int(w_))
            md.ellipse([k[wri][0] - r, k[wri][1] - r, k[wri][0] + r, k[wri][1] + r], fill=0)
        if is_driver and rng.random() < 0.7:  # steering wheel rim in front of the lower torso
            wc = (k[7] + k[8]) / 2 + (0, -0.15 * torso)
            wr = 0.55 * torso
            box = [wc[0] - wr, wc[1] - wr * 0.45, wc[0] + wr, wc[1] + wr * 0.45]
            ww = int(max(2, 0.08 * torso))
            d.arc(box, 180, 360, fill=(25, 25, 25), width=ww)
            md.arc(box, 180, 360, fill=0, width=ww)
        v = np.full((9, 1), 2.0, np.float32)
        inside = (k[:, 0] >= 0) & (k[:, 0] < width) & (k[:, 1] >= 0) & (k[:, 1] < height)
        v[~inside] = 0.0
        people.append(np.concatenate([np.where(inside[:, None], k, 0.0), v], axis=1))
    img = img.filter(ImageFilter.GaussianBlur(radius=0.6))
    arr = np.asarray(img, dtype=np.float32)
    gain = rng.uniform(0.55, 1.25)
    ramp = np.linspace(1.15, 0.75, width) if win_side < 0 else np.linspace(0.75, 1.15, width)
    arr = arr * gain * ramp[None, :, None] + rng.normal(0, rng.uniform(2, 8), size=arr.shape)
    return np.clip(arr, 0, 255).astype(np.uint8), np.asarray(mask, np.uint8), np.stack(people)


def write_split(root: str | Path, n: int, seed: int, width: int = 640, height: int = 360, spread: str = "narrow",
                passenger_prob: float = 0.3, prefix: str = "synthetic") -> Path:
    """Render ``n`` frames into ``root`` in format (a), the project's layout; returns the annotation path."""
    root = Path(root)
    (root / "Raw_Images").mkdir(parents=True, exist_ok=True)
    (root / "Seatbelt_Mask").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    entries = []
    for i in range(n):
        img, mask, people = render_scene(rng, width, height, spread, passenger_prob)
        image_id = f"{prefix}_{i:05d}"  # the project's image_id: a path without extension, PNG files
        Image.fromarray(img).save(root / "Raw_Images" / f"{image_id}.png")
        Image.fromarray(np.stack([mask] * 3, axis=-1)).save(root / "Seatbelt_Mask" / f"{image_id}.png")
        entries.append({"image_id": image_id, "people": people})
    ann = root / f"{prefix}_keypoint_Annotation.json"
    write_original_annotation(ann, entries)
    return ann


def make_synthetic(cfg) -> Path:
    """Render train (narrow arms), val (narrow) and test_wide (wide arms) under ``cfg.synthetic_root``."""
    root = Path(cfg.synthetic_root)
    for split, n, spread, off in (("train", cfg.synthetic_train, "narrow", 0), ("val", cfg.synthetic_val, "narrow", 1),
                                  ("test_wide", cfg.synthetic_test, "wide", 2)):
        write_split(root / split, n, cfg.seed * 1000 + off, cfg.synthetic_width, cfg.synthetic_height, spread,
                    cfg.synthetic_passenger_prob)
    return root
