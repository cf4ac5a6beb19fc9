"""The gesture recogniser used to judge synthetic data: 1-nearest-neighbour DTW over unit direction vectors.

Why this one: it is the yardstick the specification computed on the real data (deepnag.md §4: resample to 16
points, DTW over normalised direction vectors with cost 1 - dot, Sakoe-Chiba radius 2, no correction factors;
95.4 % on $1-GDS, 92.7 % on JK2017 with one subject's samples as templates). It is Jackknife's core without
its lower bounds and correction factors, the family of recognisers the DeepNAG paper evaluates with; it has no
training of its own, so "trained on synthetic, tested on real" measures only the samples, not an optimiser,
and it runs in seconds on a CPU.
"""

from __future__ import annotations

import numpy as np

from deepnag.data.preprocess import resample_path


def direction_features(sequences, n_points: int = 16) -> np.ndarray:
    """(N, T, F) or list of (T_i, F) -> (N, n_points - 1, F) unit direction vectors of the resampled paths."""
    out = []
    for s in sequences:
        r = resample_path(np.asarray(s, dtype=np.float64), n_points)
        v = np.diff(r, axis=0)
        norm = np.linalg.norm(v, axis=1, keepdims=True)
        out.append(np.where(norm > 0, v / np.where(norm > 0, norm, 1), 0.0))
    return np.stack(out)


def dtw_matrix(a: np.ndarray, b: np.ndarray, radius: int = 2, chunk: int = 128) -> np.ndarray:
    """DTW distance of every a_i against every b_j, cost 1 - <a_i[s], b_j[t]>, band |s - t| <= radius.

    a: (Na, L, F), b: (Nb, L, F) -> (Na, Nb). The recursion runs over the (L, L) grid, vectorised over pairs.
    """
    na, L, _ = a.shape
    out = np.empty((na, len(b)))
    for start in range(0, na, chunk):
        cost = 1.0 - np.einsum("isf,jtf->ijst", a[start:start + chunk], b)  # (n, Nb, L, L)
        R = np.full(cost.shape[:2] + (L + 1, L + 1), np.inf)
        R[:, :, 0, 0] = 0.0
        for s in range(1, L + 1):
            for t in range(max(1, s - radius), min(L, s + radius) + 1):
                best = np.minimum(np.minimum(R[:, :, s - 1, t - 1], R[:, :, s - 1, t]), R[:, :, s, t - 1])
                R[:, :, s, t] = cost[:, :, s - 1, t - 1] + best
        out[start:start + chunk] = R[:, :, L, L]
    return out


class NearestNeighbourDTW:
    """fit(templates, labels) / predict(samples) / accuracy(samples, labels)."""

    def __init__(self, n_points: int = 16, radius: int = 2):
        self.n_points, self.radius = n_points, radius

    def fit(self, sequences, labels) -> NearestNeighbourDTW:
        self.templates = direction_features(sequences, self.n_points)
        self.labels = np.asarray(labels)
        return self

    def predict(self, sequences) -> np.ndarray:
        d = dtw_matrix(direction_features(sequences, self.n_points), self.templates, self.radius)
        return self.labels[d.argmin(axis=1)]

    def accuracy(self, sequences, labels) -> float:
        return float((self.predict(sequences) == np.asarray(labels)).mean())
