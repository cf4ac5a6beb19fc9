"""Synthetic stand-in for $1-GDS: the 16 $1 gesture shapes drawn procedurally, written as $1 XML logs.

Each shape is a template polyline in a unit box (screen coordinates, y down). A sample is drawn by a
"subject" (a persistent slant, aspect ratio, size and corner-rounding style) with per-sample variation:
rotation, scale, position, a smooth low-frequency wobble, pixel jitter, a perturbed start point and a
bell-shaped speed profile sampled at a ~100 Hz digitiser rate, so point counts and spacing vary like the real
logs (tens to ~180 points, integer pixels, timestamps in ms). The files are then read back by the real loader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepnag.data.dollar import DOLLAR_CLASSES, write_dollar_xml
from deepnag.data.preprocess import resample_path


def _arc(cx, cy, r, a0, a1, n=40):
    a = np.linspace(np.radians(a0), np.radians(a1), n)
    return np.stack([cx + r * np.cos(a), cy - r * np.sin(a)], axis=1)  # angles counter-clockwise, y down


def _brace(left: bool) -> np.ndarray:
    """A "{" (or "}" mirrored): top end, in to the middle tip, back out to the bottom end."""
    ctrl = np.array([[0.7, 0], [0.45, 0.03], [0.4, 0.15], [0.4, 0.38], [0.3, 0.47], [0.08, 0.5], [0.3, 0.53],
                     [0.4, 0.62], [0.4, 0.85], [0.45, 0.97], [0.7, 1]])
    pts = _smooth(resample_path(ctrl, 80), 5)
    if not left:
        pts[:, 0] = 0.7 - pts[:, 0]
    return pts


def gesture_templates() -> dict[str, np.ndarray]:
    """name -> template polyline (K, 2) in [0, 1]^2, y down, in drawing order."""
    t = {
        "arrow": np.array([[0, 1], [1, 0], [0.55, 0.08], [1, 0], [0.92, 0.45]]),
        "caret": np.array([[0, 1], [0.5, 0], [1, 1]]),
        "check": np.array([[0, 0.6], [0.3, 1], [1, 0]]),
        "circle": _arc(0.5, 0.5, 0.5, 90, 450, 64),
        "delete_mark": np.array([[0, 0], [1, 1], [0, 1], [1, 0]]),
        "left_curly_brace": _brace(True),
        "left_sq_bracket": np.array([[0.6, 0], [0, 0], [0, 1], [0.6, 1]]),
        "question_mark": np.concatenate([_arc(0.5, 0.3, 0.3, 170, -90, 40), np.array([[0.5, 0.6], [0.5, 1.0]])]),
        "rectangle": np.array([[0, 0], [0, 0.7], [1, 0.7], [1, 0], [0, 0]]),
        "right_curly_brace": _brace(False),
        "right_sq_bracket": np.array([[0, 0], [0.6, 0], [0.6, 1], [0, 1]]),
        "triangle": np.array([[0.5, 0], [0, 0.9], [1, 0.9], [0.5, 0]]),
        "v": np.array([[0, 0], [0.5, 1], [1, 0]]),
        "x": np.array([[0, 0], [1, 1], [1, 0], [0, 1]]),
    }
    theta = np.linspace(-np.pi, np.pi, 90)
    t["pigtail"] = np.stack([0.15 * theta - 0.45 * np.sin(theta), -0.45 * np.cos(theta)], axis=1)
    star_angles = np.radians([234, 90, 306, 162, 18, 234])  # pentagram: bottom-left, top, bottom-right, ...
    t["star"] = np.stack([0.5 + 0.5 * np.cos(star_angles), 0.5 - 0.5 * np.sin(star_angles)], axis=1)
    out = {}
    for name in DOLLAR_CLASSES:
        pts = np.asarray(t[name], dtype=np.float64)
        pts = (pts - pts.min(0)) / np.maximum(pts.max(0) - pts.min(0), 1e-9).max()
        out[name] = pts
    return out


def _smooth(points: np.ndarray, width: int) -> np.ndarray:
    """Moving average along the path (rounds corners); ends are kept in place."""
    if width <= 1:
        return points
    kernel = np.ones(width) / width
    padded = np.pad(points, ((width // 2, width - 1 - width // 2), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, d], kernel, mode="valid") for d in range(points.shape[1])], axis=1)


def draw_pen_gesture(template: np.ndarray, rng: np.random.Generator, style: dict) -> np.ndarray:
    """One human-like sample of a template -> (T, 3) integer X, Y pixels and T ms."""
    dense = resample_path(template, 200)
    # start point perturbation and smooth wobble along the path
    dense = dense + rng.normal(0, 0.02, size=(1, 2)) * np.linspace(1, 0, 200)[:, None]
    s = np.linspace(0, 1, 200)[:, None]
    for _ in range(2):
        freq, phase = rng.uniform(0.5, 2.5), rng.uniform(0, 2 * np.pi, size=2)
        dense = dense + rng.normal(0, 0.015, size=2) * np.sin(2 * np.pi * freq * s + phase)
    dense = _smooth(dense, style["rounding"])
    # affine: subject slant/aspect + per-sample rotation and scale
    angle = np.radians(rng.normal(0, 6))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = np.array([[1, style["slant"]], [0, 1]])
    scale = style["size"] * rng.uniform(0.85, 1.15) * np.array([style["aspect"], 1 / style["aspect"]])
    pts = (dense - 0.5) @ (rot @ shear).T * scale + np.array([125, 190]) + rng.normal(0, 8, size=2)
    # timing: bell-shaped speed along the arc length, sampled at ~100 Hz for a total of 0.6-1.6 s
    duration = rng.uniform(0.6, 1.6) * style["tempo"]
    n_samples = int(np.clip(duration * rng.uniform(60, 110), 30, 177))
    u = np.linspace(0, 1, n_samples)
    progress = u - np.sin(2 * np.pi * u) / (2 * np.pi) * rng.uniform(0.4, 0.9)  # slow start and end
    progress = np.clip(progress, 0, 1)
    arc = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    x = np.interp(progress * arc[-1], arc, pts[:, 0])
    y = np.interp(progress * arc[-1], arc, pts[:, 1])
    xy = np.round(np.stack([x, y], axis=1) + rng.normal(0, 0.3, size=(n_samples, 2)))
    t = np.round(rng.integers(1_000_000, 20_000_000) + u * duration * 1000)
    return np.concatenate([xy, t[:, None]], axis=1)


def write_synthetic_pen(root: str | Path, n_subjects: int = 10, n_repetitions: int = 10, seed: int = 0) -> Path:
    """Write `root/xml_logs/sNN/medium/<gesture><KK>.xml` like $1-GDS; returns root."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    templates = gesture_templates()
    for subject in range(2, 2 + n_subjects):  # s02.. like the real logs (s01 is the pilot)
        style = {
            "slant": rng.normal(0, 0.12), "aspect": np.exp(rng.normal(0, 0.1)), "size": rng.uniform(90, 150),
            "rounding": int(rng.integers(1, 12)), "tempo": rng.uniform(0.8, 1.25),
        }
        for name, template in templates.items():
            for k in range(1, n_repetitions + 1):
                points = draw_pen_gesture(template, rng, style)
                write_dollar_xml(root / "xml_logs" / f"s{subject:02d}" / "medium" / f"{name}{k:02d}.xml",
                                 f"{name}{k:02d}", subject, "medium", k, points)
    return root
