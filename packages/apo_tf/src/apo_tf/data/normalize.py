"""Training-pose preparation for the GAN (apo_tf.md §1.3, ``gan._get_np_data``).

world poses (m) -> / subject height -> xy recentred on joint 0 (z kept: height above the floor) -> rotated
about z so that l_hip - r_hip points along +x. No other standardisation and no rotation augmentation.
"""

from __future__ import annotations

import numpy as np

from apo_tf.data.cameras import rotate_about_z
from motionkit.skeletons import get_skeleton


def _names(skeleton: str) -> tuple[list[str], str]:
    return (["l_toes", "r_toes"], "head_back") if skeleton == "apo_s24" else (["l_ankle", "r_ankle"], "head")


def heights(p3w: np.ndarray, skeleton: str) -> np.ndarray:
    """Per-frame ||mean(feet) - head|| (T,) for s24 (toes, head_back) or s14 (ankles, head)."""
    sk = get_skeleton(skeleton)
    feet, head = _names(skeleton)
    foot = p3w[..., sk.indices(feet), :].mean(-2)
    return np.linalg.norm(foot - p3w[..., sk.index(head), :], axis=-1)


def front_angle(p3: np.ndarray, skeleton: str) -> np.ndarray:
    """Yaw of the hip vector l_hip - r_hip, atan2(dy, dx), (...,)."""
    sk = get_skeleton(skeleton)
    d = p3[..., sk.index("l_hip"), :] - p3[..., sk.index("r_hip"), :]
    return np.arctan2(d[..., 1], d[..., 0])


def normalize_poses(p3w: np.ndarray, height: float, skeleton: str) -> np.ndarray:
    """(T, J, 3) world poses of one subject -> canonical unit-height poses (T, J, 3)."""
    p = p3w / height
    p = p - np.concatenate([p[..., :1, :2], np.zeros_like(p[..., :1, 2:])], -1)
    return rotate_about_z(p, -front_angle(p, skeleton))


def training_poses(sequences: list) -> np.ndarray:
    """All training frames of a list of :class:`apo_tf.data.registry.Sequence`, normalised, (N, J, 3) float32."""
    by_subject: dict[str, list[np.ndarray]] = {}
    for s in sequences:
        by_subject.setdefault(s.subject, []).append(s.p3w)
    out = []
    for _, poses in sorted(by_subject.items()):
        skeleton = sequences[0].skeleton
        h = max(float(heights(p, skeleton).max()) for p in poses)
        out += [normalize_poses(p.astype(np.float64), h, skeleton) for p in poses]
    return np.concatenate(out).astype(np.float32)
