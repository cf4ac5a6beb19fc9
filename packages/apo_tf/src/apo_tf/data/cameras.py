"""Pinhole cameras (apo_tf.md §2.2, §3.1): world -> camera -> pixels, and fitting a camera to data.

Conventions: world is z-up; ``p_c = R p_w + t``; ``p2 = f * (x_c / z_c, y_c / z_c) + c`` with no distortion.
Units are whatever the caller uses (mm/pixels in the files, m/kilo-pixels once scaled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Camera:
    """Extrinsics ``R`` (3, 3), ``t`` (3,) and intrinsics ``f`` (2,), ``c`` (2,)."""

    R: np.ndarray
    t: np.ndarray
    f: np.ndarray
    c: np.ndarray

    def world_to_camera(self, p3w: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3) camera-frame points."""
        return p3w @ self.R.T + self.t

    def project(self, p3w: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 2) image points."""
        return project_camera_points(self.world_to_camera(p3w), self.f, self.c)

    def scaled(self, space: float = 1000.0, pixel: float = 1000.0) -> Camera:
        """Divide the translation by ``space`` (mm -> m) and f, c by ``pixel`` (px -> kilo-px)."""
        return Camera(self.R, self.t / space, self.f / pixel, self.c / pixel)


def project_camera_points(p3c: np.ndarray, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points: ``f * xy / z + c``; (..., 3) -> (..., 2)."""
    return p3c[..., :2] / p3c[..., 2:3] * f + c


def rotate_about_z(p: np.ndarray, phi: np.ndarray | float) -> np.ndarray:
    """Rotate (..., J, 3) points about the world vertical by ``phi`` (...,): x' = cx - sy, y' = sx + cy."""
    phi = np.asarray(phi, dtype=p.dtype)[..., None]
    c, s = np.cos(phi), np.sin(phi)
    x, y = p[..., 0], p[..., 1]
    return np.stack([c * x - s * y, s * x + c * y, p[..., 2]], axis=-1)


def fit_intrinsics(p3c: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis linear least squares for ``x2 = f * x3 / z3 + c`` over all points (as the original converter)."""
    f, c = np.zeros(2), np.zeros(2)
    for a in range(2):
        u = (p3c[..., a] / p3c[..., 2]).reshape(-1)
        A = np.stack([u, np.ones_like(u)], axis=1)
        (f[a], c[a]), *_ = np.linalg.lstsq(A, p2[..., a].reshape(-1), rcond=None)
    return f, c


def fit_extrinsics(p3w: np.ndarray, p3c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthogonal Procrustes fit ``p3c ≈ R p3w + t`` (rotation only, det +1) over all points."""
    a, b = p3w.reshape(-1, 3).astype(np.float64), p3c.reshape(-1, 3).astype(np.float64)
    ma, mb = a.mean(0), b.mean(0)
    u, _, vt = np.linalg.svd((a - ma).T @ (b - mb))
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    R = (u @ np.diag([1.0, 1.0, d]) @ vt).T
    return R, mb - R @ ma


def look_at(position: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extrinsics of a camera at ``position`` aimed at ``target`` in a z-up world (image y points down)."""
    fwd = target - position
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, np.array([0.0, 0.0, 1.0]))
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd])
    return R, -R @ position
