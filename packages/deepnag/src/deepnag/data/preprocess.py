"""Preprocessing shared by both data sets (deepnag.md §3.3), in this order:

1. min-max normalisation of every feature column to [-1, 1] over all frames of all training samples
   (global per axis: no centring, no per-sample scaling);
2. $1-style equidistant resampling to N points along the path in the full F-dimensional space.
"""

from __future__ import annotations

import numpy as np


class MinMaxNormalizer:
    """x_hat = 2 (x - lo) / (hi - lo) - 1, per feature column. Stored in every checkpoint."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray):
        self.lo = np.asarray(lo, dtype=np.float64)
        self.hi = np.asarray(hi, dtype=np.float64)
        span = self.hi - self.lo
        self.span = np.where(span > 0, span, 1.0)  # a constant column maps to -1 instead of dividing by 0

    @classmethod
    def fit(cls, sequences: list[np.ndarray]) -> MinMaxNormalizer:
        """sequences: list of (T_i, F) arrays; min and max over every frame of every sequence."""
        frames = np.concatenate([np.asarray(s, dtype=np.float64) for s in sequences], axis=0)
        return cls(frames.min(axis=0), frames.max(axis=0))

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * (np.asarray(x, dtype=np.float64) - self.lo) / self.span - 1.0

    def unnormalize(self, x: np.ndarray) -> np.ndarray:
        return self.lo + (np.asarray(x, dtype=np.float64) + 1.0) * self.span / 2.0

    def state_dict(self) -> dict:
        return {"lo": self.lo.tolist(), "hi": self.hi.tolist()}

    @classmethod
    def from_state_dict(cls, state: dict) -> MinMaxNormalizer:
        return cls(np.asarray(state["lo"]), np.asarray(state["hi"]))


def resample_path(points: np.ndarray, n: int) -> np.ndarray:
    """$1 resampling: n points equally spaced along the polyline `points` (T, F) -> (n, F).

    The $1 recogniser walks the segments and inserts a point every I = pathlength / (n - 1); that is exactly
    linear interpolation at arc lengths 0, I, 2I, ..., (n-1) I, which is what this vectorised version computes
    (the original's floating-point shortfall, padded with the last point, cannot happen here). A path of length
    zero gives n copies of its first point.
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) == 0:
        raise ValueError(f"resample_path expects (T, F) with T >= 1, got shape {points.shape}")
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0:
        return np.repeat(points[:1], n, axis=0)
    targets = np.linspace(0.0, total, n)
    # segment index k such that cum[k] <= t <= cum[k+1]; zero-length segments are skipped by searchsorted
    k = np.clip(np.searchsorted(cum, targets, side="right") - 1, 0, len(points) - 2)
    seg_len = cum[k + 1] - cum[k]
    frac = np.where(seg_len > 0, (targets - cum[k]) / np.where(seg_len > 0, seg_len, 1.0), 0.0)
    return points[k] + frac[:, None] * (points[k + 1] - points[k])


def path_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(np.asarray(points, dtype=np.float64), axis=0), axis=1).sum())
