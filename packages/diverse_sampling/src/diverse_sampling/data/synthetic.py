"""Synthetic stand-in for Human3.6M / HumanEva-I in exactly the VideoPose3D file format (notes section 7.2).

A skeleton with the data set's topology is animated by forward kinematics from per-joint Euler angles, so bone
lengths are exactly constant. Every take alternates *idle -> action -> idle -> action ...* (segments of 1-2.5 s,
blended over 12 frames with a smoothstep), so that many windows end their history near the neutral pose and then
continue in different ways: the futures really branch, multimodal ground-truth groups are non-empty and the
candidate-pool index is meaningful. The take name's first word is the action class (used by the classifier).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from diverse_sampling.data.io import Takes, write_positions
from diverse_sampling.data.layout import H36M, H36M_32_PARENTS, HUMANEVA, DatasetLayout
from motionkit.errors import ConfigError

# Rest offsets (child relative to parent, metres, z up, y forward, +x = left).
_H36M_OFFSETS = np.array([
    [0, 0, 0], [-0.13, 0, 0], [0, 0, -0.45], [0, 0, -0.45], [0.13, 0, 0], [0, 0, -0.45], [0, 0, -0.45],
    [0, 0, 0.23], [0, 0, 0.25], [0, 0.03, 0.11], [0, 0, 0.11], [0.15, 0, 0], [0, 0, -0.28], [0, 0, -0.25],
    [-0.15, 0, 0], [0, 0, -0.28], [0, 0, -0.25],
], dtype=np.float64)
_HUMANEVA_OFFSETS = np.array([
    [0, 0, 0], [0, 0, 0.48], [0.18, 0, 0], [0, 0, -0.28], [0, 0, -0.25], [-0.18, 0, 0], [0, 0, -0.28],
    [0, 0, -0.25], [0.09, 0, -0.1], [0, 0, -0.4], [0, 0, -0.45], [-0.09, 0, -0.1], [0, 0, -0.4], [0, 0, -0.45],
    [0, 0.02, 0.25],
], dtype=np.float64)
# Which kept joint carries each semantic rotation (the rotation at a joint moves its children).
_ROLES = {
    "h36m": dict(root=0, r_hip=1, r_knee=2, l_hip=4, l_knee=5, spine=7, thorax=8, neck=9, l_shoulder=11,
                 l_elbow=12, r_shoulder=14, r_elbow=15),
    "humaneva": dict(root=0, r_hip=11, r_knee=12, l_hip=8, l_knee=9, spine=1, thorax=1, neck=1, l_shoulder=2,
                     l_elbow=3, r_shoulder=5, r_elbow=6),
}
_AX = {"x": 0, "y": 1, "z": 2}

# A component is (role, axis, amplitude [rad], frequency [Hz], phase [rad], bias [rad]).
_IDLE = [("spine", "x", 0.03, 0.25, 0.0, 0.0), ("l_shoulder", "x", 0.02, 0.25, 1.0, 0.0),
         ("r_shoulder", "x", 0.02, 0.25, 1.0, 0.0)]
_WALK = [("l_hip", "x", 0.45, 1.0, 0.0, 0.05), ("r_hip", "x", 0.45, 1.0, np.pi, 0.05),
         ("l_knee", "x", 0.35, 1.0, -1.2, -0.4), ("r_knee", "x", 0.35, 1.0, np.pi - 1.2, -0.4),
         ("l_shoulder", "x", 0.35, 1.0, np.pi, 0.0), ("r_shoulder", "x", 0.35, 1.0, 0.0, 0.0)]
_WAVE_L = [("l_shoulder", "y", 0.25, 0.7, 0.0, -1.3), ("l_elbow", "x", 0.6, 1.4, 0.0, -0.7)]
_WAVE_R = [("r_shoulder", "y", 0.25, 0.7, 0.0, 1.3), ("r_elbow", "x", 0.6, 1.4, 0.0, -0.7)]
_SQUAT = [("l_hip", "x", 0.15, 0.4, 0.0, 1.1), ("r_hip", "x", 0.15, 0.4, 0.0, 1.1),
          ("l_knee", "x", 0.2, 0.4, 0.0, -1.5), ("r_knee", "x", 0.2, 0.4, 0.0, -1.5),
          ("spine", "x", 0.1, 0.4, 0.0, 0.35)]
_TURN = [("root", "z", 0.7, 0.3, 0.0, 0.0), ("thorax", "z", 0.35, 0.3, 0.8, 0.0)]


def _scale(comps, s, freq=1.0):
    return [(r, a, amp * s, f * freq, ph, b * s) for r, a, amp, f, ph, b in comps]


ACTIONS = {
    "h36m": {
        "Directions": _scale(_WAVE_R, 0.7) + _scale(_TURN, 0.3),
        "Discussion": _scale(_WAVE_L, 0.5, 1.3) + _scale(_WAVE_R, 0.5, 0.9),
        "Eating": [("l_elbow", "x", 0.4, 0.8, 0.0, -1.6), ("r_elbow", "x", 0.4, 0.8, np.pi, -1.6),
                   ("spine", "x", 0.05, 0.8, 0.0, 0.2)],
        "Greeting": _WAVE_R + [("spine", "x", 0.1, 0.5, 0.0, 0.3)],
        "Phoning": [("r_elbow", "x", 0.1, 0.5, 0.0, -2.2), ("r_shoulder", "x", 0.1, 0.5, 0.0, 0.6)]
        + _scale(_TURN, 0.3),
        "Posing": [("l_shoulder", "y", 0.1, 0.3, 0.0, -1.5), ("r_shoulder", "y", 0.1, 0.3, 0.0, 1.5),
                   ("spine", "y", 0.2, 0.3, 0.0, 0.0)],
        "Purchases": [("spine", "x", 0.2, 0.5, 0.0, 0.5), ("l_shoulder", "x", 0.3, 0.5, 0.0, 0.8),
                      ("r_shoulder", "x", 0.3, 0.5, 0.5, 0.8)],
        "Sitting": _SQUAT,
        "SittingDown": _scale(_SQUAT, 0.7, 0.5),
        "Smoking": [("l_elbow", "x", 0.5, 0.4, 0.0, -2.0), ("l_shoulder", "x", 0.2, 0.4, 0.0, 0.4)],
        "Photo": [("l_shoulder", "x", 0.1, 0.6, 0.0, 1.4), ("r_shoulder", "x", 0.1, 0.6, 0.0, 1.4),
                  ("l_elbow", "x", 0.1, 0.6, 0.0, -1.2), ("r_elbow", "x", 0.1, 0.6, 0.0, -1.2)]
        + _scale(_TURN, 0.3),
        "Waiting": _scale(_TURN, 0.4) + _scale(_IDLE, 3.0) + [("r_hip", "z", 0.1, 0.3, 0.0, 0.2)],
        "Walking": _WALK,
        "WalkDog": _scale(_WALK, 0.8) + [("r_shoulder", "x", 0.1, 1.0, 0.0, 0.8)],
        "WalkTogether": _scale(_WALK, 0.6, 0.8) + [("thorax", "z", 0.2, 0.4, 0.0, 0.3)],
    },
    "humaneva": {
        "Walking": _WALK,
        "Jog": _scale(_WALK, 1.2, 2.2) + [("l_elbow", "x", 0.1, 2.2, 0.0, -1.4), ("r_elbow", "x", 0.1, 2.2, 0, -1.4)],
        "ThrowCatch": [("r_shoulder", "x", 0.8, 0.6, 0.0, 1.2), ("r_elbow", "x", 0.5, 0.6, 0.5, -0.8),
                       ("l_shoulder", "x", 0.2, 0.6, 0.0, 0.6)],
        "Gestures": _scale(_WAVE_L, 0.6, 1.2) + _scale(_WAVE_R, 0.6, 0.8),
        "Box": [("l_shoulder", "x", 0.6, 1.5, 0.0, 1.0), ("r_shoulder", "x", 0.6, 1.5, np.pi, 1.0),
                ("l_elbow", "x", 0.6, 1.5, np.pi, -1.6), ("r_elbow", "x", 0.6, 1.5, 0.0, -1.6)],
    },
}


def _rotations(angles: np.ndarray) -> np.ndarray:
    """Euler angles (..., 3) -> rotation matrices (..., 3, 3), R = Rz @ Ry @ Rx."""
    cx, cy, cz = np.cos(angles[..., 0]), np.cos(angles[..., 1]), np.cos(angles[..., 2])
    sx, sy, sz = np.sin(angles[..., 0]), np.sin(angles[..., 1]), np.sin(angles[..., 2])
    R = np.empty(angles.shape[:-1] + (3, 3))
    R[..., 0, 0] = cz * cy
    R[..., 0, 1] = cz * sy * sx - sz * cx
    R[..., 0, 2] = cz * sy * cx + sz * sx
    R[..., 1, 0] = sz * cy
    R[..., 1, 1] = sz * sy * sx + cz * cx
    R[..., 1, 2] = sz * sy * cx - cz * sx
    R[..., 2, 0] = -sy
    R[..., 2, 1] = cy * sx
    R[..., 2, 2] = cy * cx
    return R


def forward_kinematics(offsets: np.ndarray, parents, angles: np.ndarray, root: np.ndarray) -> np.ndarray:
    """Joint positions (T, J, 3) from rest ``offsets`` (J, 3), local Euler ``angles`` (T, J, 3), ``root`` (T, 3)."""
    T, J = angles.shape[:2]
    local = _rotations(angles)
    glob = np.empty_like(local)
    pos = np.empty((T, J, 3))
    for j, p in enumerate(parents):
        if p < 0:
            glob[:, j], pos[:, j] = local[:, j], root
        else:
            pos[:, j] = pos[:, p] + glob[:, p] @ offsets[j]
            glob[:, j] = glob[:, p] @ local[:, j]
    return pos


_STYLE = [("l_shoulder", "x"), ("l_shoulder", "y"), ("r_shoulder", "x"), ("r_shoulder", "y"), ("l_elbow", "x"),
          ("r_elbow", "x"), ("spine", "x"), ("spine", "y"), ("thorax", "z"), ("l_hip", "x"), ("r_hip", "x")]


def _segment_angles(comps, roles, J, t, rng, style: float) -> np.ndarray:
    """Angle track of one segment over the whole take; ``style`` = std of a random static pose offset."""
    fscale = rng.uniform(0.8, 1.2)
    ang = np.zeros((len(t), J, 3))
    for role, axis in _STYLE:
        ang[:, roles[role], _AX[axis]] += rng.normal(0, style)
    for role, axis, amp, freq, phase, bias in comps:
        ph = phase + rng.uniform(0, 2 * np.pi) * (amp > 0)
        ang[:, roles[role], _AX[axis]] += amp * np.sin(2 * np.pi * freq * fscale * t + ph) + bias
    return ang


def synth_take(layout: DatasetLayout, action: str, n_frames: int, offsets: np.ndarray, rng) -> np.ndarray:
    """One take (n_frames, J_kept, 3): idle and ``action`` segments alternating, smoothly blended."""
    roles, J = _ROLES[layout.name], len(layout.parents)
    t = np.arange(n_frames) / layout.fps
    bounds, kinds, start, idle = [], [], 0, bool(rng.integers(2))
    while start < n_frames:
        kinds.append("idle" if idle else action)
        bounds.append(start)
        start += int(rng.uniform(1.0, 2.5) * layout.fps)
        idle = not idle
    tracks = [_segment_angles(_IDLE if k == "idle" else ACTIONS[layout.name][k], roles, J, t, rng,
                              style=0.25 if k == "idle" else 0.35) for k in kinds]
    ang = tracks[0].copy()
    blend = 12
    for b, tr in zip(bounds[1:], tracks[1:]):
        w = np.clip((np.arange(n_frames) - (b - blend / 2)) / blend, 0, 1)
        w = (w * w * (3 - 2 * w))[:, None, None]
        ang = (1 - w) * ang + w * tr
    heading = ang[:, roles["root"], 2]
    speed = 1.2 * (np.abs(ang[:, roles["l_hip"], 0] - ang[:, roles["r_hip"], 0]) > 0.3)
    root = np.zeros((n_frames, 3))
    root[:, 0] = np.cumsum(-np.sin(heading) * speed) / layout.fps
    root[:, 1] = np.cumsum(np.cos(heading) * speed) / layout.fps
    root[:, 2] = 0.95
    return forward_kinematics(offsets, layout.parents, ang, root)


def _to_file_joints(layout: DatasetLayout, kept: np.ndarray) -> np.ndarray:
    """Embed the kept joints at ``joints_used`` of the file layout; unused slots copy their parent."""
    if layout.n_file_joints == len(layout.joints_used):
        return kept
    out = np.zeros((kept.shape[0], layout.n_file_joints, 3))
    out[:, list(layout.joints_used)] = kept
    used = set(layout.joints_used)
    for s in range(layout.n_file_joints):
        if s not in used:
            out[:, s] = out[:, H36M_32_PARENTS[s]]
    return out


MIN_FRAMES_PER_TAKE = 10  # shorter takes leave HumanEva's Validate third (and the walk cycle) empty


def make_synthetic(dataset: str, out_dir: str | Path, frames_per_take: int = 0, takes_per_action: int = 2,
                   seed: int = 0, legacy: bool = True) -> Path:
    """Write ``data_3d_h36m.npz`` or ``data_3d_humaneva15.npz`` (synthetic) under ``out_dir``; returns the path.

    H36M-like: subjects S1 S5 S6 S7 S8 S9 S11, each of the 15 actions ``takes_per_action`` times (``"Walking"``,
    ``"Walking 1"``...; S11 lacks ``"Directions"`` like the real file), 50 Hz, 32 file joints.
    HumanEva-like: ``Train/S1..3`` and ``Validate/S1..3`` (same three people), actions ``"<Action> 1 chunk<i>"``,
    60 Hz, 15 joints.
    """
    if frames_per_take != 0 and frames_per_take < MIN_FRAMES_PER_TAKE:
        raise ConfigError(f"make-synthetic: --frames-per-take must be 0 (the default length) or at least "
                          f"{MIN_FRAMES_PER_TAKE}, got {frames_per_take}")
    if takes_per_action < 1:
        raise ConfigError(f"make-synthetic: --takes-per-action must be at least 1, got {takes_per_action} "
                          "(a data set without takes)")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError(f"make-synthetic: --data-root {out_dir} is a file; name the folder to write into")
    layout = H36M if dataset == "h36m" else HUMANEVA
    rng = np.random.default_rng(seed)
    base = _H36M_OFFSETS if dataset == "h36m" else _HUMANEVA_OFFSETS
    takes: Takes = {}
    if dataset == "h36m":
        frames = frames_per_take or 750
        for subject in ["S1", "S5", "S6", "S7", "S8", "S9", "S11"]:
            offsets = base * rng.uniform(0.9, 1.1) * rng.uniform(0.97, 1.03, size=(len(base), 1))
            for action in ACTIONS["h36m"]:
                for k in range(takes_per_action):
                    name = action if k == 0 else f"{action} {k}"
                    if subject == "S11" and name == "Directions":
                        continue
                    n = int(frames * rng.uniform(0.8, 1.2))
                    kept = synth_take(layout, action, n, offsets, rng)
                    takes.setdefault(subject, {})[name] = _to_file_joints(layout, kept).astype(np.float32)
    else:
        frames = frames_per_take or 900
        for person in ["S1", "S2", "S3"]:
            offsets = base * rng.uniform(0.9, 1.1) * rng.uniform(0.97, 1.03, size=(len(base), 1))
            for action in ACTIONS["humaneva"]:
                for k in range(takes_per_action):
                    full = synth_take(layout, action, int(frames * rng.uniform(0.8, 1.2)), offsets, rng)
                    cut = len(full) // 3  # Validate = first third of the take, Train = the rest
                    takes.setdefault(f"Validate/{person}", {})[f"{action} 1 chunk{k}"] = full[:cut].astype(np.float32)
                    takes.setdefault(f"Train/{person}", {})[f"{action} 1 chunk{k}"] = full[cut:].astype(np.float32)
    return write_positions(Path(out_dir) / layout.filename, takes, legacy=legacy)
