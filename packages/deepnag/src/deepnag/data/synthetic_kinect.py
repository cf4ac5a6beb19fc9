"""Synthetic stand-in for JK2017 Kinect: 14 full-body gestures by forward kinematics, in the JK2017 text format.

The skeleton is motionkit's "jk2017_kinect_21" (joint order and parents of the real files). A subject has
persistent body proportions, position in front of the camera and a facing angle; a gesture animates joint
rotations (shoulder/elbow/hip/knee/spine, whole-body roll for cartwheels) with smooth rise-hold-fall envelopes
whose amplitude, onset and duration vary per sample, plus sensor noise. Camera space as Kinect v2: metres,
y up, the subject faces the camera (its forward is -z), its left side at -x; 120 frames per file, like JK2017.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepnag.data.jk2017 import JK2017_CLASSES, write_jk2017_file
from motionkit.skeletons import get_skeleton

N_FRAMES = 120

# rest-pose offset of every joint from its parent (metres), person upright, arms hanging
_OFFSETS = {
    "hip_center": (0, 0, 0), "spine_center": (0, 0.31, 0), "spine_top": (0, 0.22, 0), "neck": (0, 0.075, 0),
    "head": (0, 0.14, 0),
    "shoulder_l": (-0.165, -0.015, 0), "elbow_l": (0, -0.26, 0), "wrist_l": (0, -0.24, 0), "hand_l": (0, -0.07, 0),
    "hip_l": (-0.075, -0.01, 0), "knee_l": (0, -0.38, 0), "ankle_l": (0, -0.39, 0), "foot_l": (0, -0.05, -0.09),
}
for _k, _v in list(_OFFSETS.items()):
    if _k.endswith("_l"):
        _OFFSETS[_k[:-2] + "_r"] = (-_v[0], _v[1], _v[2])


def _rot(axis: str, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) about a coordinate axis by `angle` (T,) radians (right-handed)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    if axis == "x":
        m = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "y":
        m = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        m = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def forward_kinematics(local_rot: dict[str, np.ndarray], root_pos: np.ndarray, scale: float) -> np.ndarray:
    """local_rot: joint -> (T, 3, 3) rotations applied to its children; root_pos (T, 3) -> positions (T, 21, 3).

    position[j] = position[parent] + R_global[parent] @ offset[j];  R_global[j] = R_global[parent] @ R_local[j].
    Conventions (person facing -z, left at -x): flexing a shoulder/hip forward is +x rotation, knee flexion is
    -x, elbow flexion +x, abduction of a left limb is -z (right limb +z), torso twist is about y.
    """
    skel = get_skeleton("jk2017_kinect_21")
    T = len(root_pos)
    eye = np.broadcast_to(np.eye(3), (T, 3, 3))
    pos = np.zeros((T, skel.n_joints, 3))
    glob: list[np.ndarray | None] = [None] * skel.n_joints
    order = sorted(range(skel.n_joints), key=lambda j: _depth(skel.parents, j))
    for j in order:
        name, parent = skel.joints[j], skel.parents[j]
        local = local_rot.get(name, eye)
        if parent < 0:
            pos[:, j] = root_pos
            glob[j] = local
        else:
            offset = np.asarray(_OFFSETS[name]) * scale
            pos[:, j] = pos[:, parent] + np.einsum("tij,j->ti", glob[parent], offset)
            glob[j] = glob[parent] @ local
    return pos


def _depth(parents, j):
    d = 0
    while parents[j] >= 0:
        j, d = parents[j], d + 1
    return d


def _envelope(T: int, rng: np.random.Generator, hold: float = 0.25) -> np.ndarray:
    """Smooth 0 -> 1 -> 0 bump over T frames with random onset and duration (the gesture's stroke)."""
    t = np.linspace(0, 1, T)
    start = rng.uniform(0.08, 0.25)
    length = rng.uniform(0.45, 0.7)
    rise = length * (1 - hold) / 2
    a, b, c, d = start, start + rise, start + length - rise, start + length
    up = np.clip((t - a) / (b - a), 0, 1)
    down = np.clip((d - t) / (d - c), 0, 1)
    env = np.minimum(up, down)
    return 0.5 - 0.5 * np.cos(np.pi * env)


def _gesture_rotations(gesture: str, T: int, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """Local joint rotations (joint -> (T,3,3)) and root displacement (T, 3) for one performance."""
    e = _envelope(T, rng)
    amp = lambda deg: np.radians(deg * rng.uniform(0.8, 1.2))  # noqa: E731
    side, other = ("l", "r") if gesture.endswith("left") else ("r", "l")
    ab = -1.0 if side == "l" else 1.0  # abduction sign of the acting side
    rot: dict[str, list[np.ndarray]] = {}
    disp = np.zeros((T, 3))

    def add(joint, axis, angle):
        rot.setdefault(joint, []).append(_rot(axis, np.broadcast_to(angle, (T,)).astype(float)))

    guard = lambda s: (add(f"shoulder_{s}", "x", amp(35)), add(f"elbow_{s}", "x", amp(110)))  # noqa: E731
    kind = gesture.rsplit("_", 1)[0] if gesture.endswith(("left", "right")) else gesture
    if kind in ("jab", "hook", "uppercut"):
        guard(side), guard(other)
        add("spine_top", "y", -ab * amp(20) * e)  # torso turns into the punch
        if kind == "jab":
            add(f"shoulder_{side}", "x", amp(55) * e)
            add(f"elbow_{side}", "x", -amp(105) * e)
        elif kind == "hook":
            add(f"shoulder_{side}", "z", ab * amp(70) * e)
            add(f"shoulder_{side}", "y", ab * amp(60) * e)
            add(f"elbow_{side}", "x", -amp(20) * e)
        else:
            add(f"shoulder_{side}", "x", -amp(35) * np.clip(1 - 3 * e, 0, 1) + amp(95) * e)
            add(f"elbow_{side}", "x", -amp(10) * e)
    elif kind == "push":
        for s in ("l", "r"):
            guard(s)
            add(f"shoulder_{s}", "x", amp(45) * e)
            add(f"elbow_{s}", "x", -amp(100) * e)
    elif kind == "duck":
        depth = amp(70) * e
        for s in ("l", "r"):
            add(f"hip_{s}", "x", depth)
            add(f"knee_{s}", "x", -1.8 * depth)
            add(f"ankle_{s}", "x", 0.8 * depth)
            guard(s)
        add("spine_center", "x", 0.6 * depth)
        disp[:, 1] -= 0.35 * np.sin(depth) * rng.uniform(0.8, 1.2)
    elif kind == "kick":
        add(f"hip_{side}", "x", amp(75) * e)
        add(f"knee_{side}", "x", -amp(70) * np.sin(np.pi * e))
        add(f"shoulder_{other}", "x", amp(25) * e)
        add("spine_center", "x", -amp(8) * e)
    elif kind == "sidekick":
        add(f"hip_{side}", "z", ab * amp(60) * e)
        add(f"knee_{side}", "x", -amp(60) * np.sin(np.pi * e))
        add("spine_center", "z", -ab * amp(25) * e)
        add(f"shoulder_{other}", "z", -ab * amp(30) * e)
    elif kind == "cartwheel":
        roll = ab * amp(360) * (0.5 - 0.5 * np.cos(np.pi * np.clip((np.linspace(0, 1, T) - 0.15) / 0.7, 0, 1)))
        add("hip_center", "z", roll)
        for s, sign in (("l", -1.0), ("r", 1.0)):
            add(f"shoulder_{s}", "z", sign * amp(150) * np.minimum(1, 3 * np.abs(np.sin(roll / 2)) + e))
            add(f"hip_{s}", "z", sign * amp(30) * e)
        disp[:, 0] += ab * 1.2 * np.abs(roll) / (2 * np.pi)
        disp[:, 1] += 0.4 * np.abs(np.sin(roll))
    else:  # pragma: no cover - all 14 classes handled above
        raise ValueError(f"unknown gesture {gesture}")
    stance = np.radians(rng.uniform(4, 10))  # feet apart, as JK2017 subjects stand
    add("hip_l", "z", -stance)
    add("hip_r", "z", stance)
    add("knee_l", "z", stance * 0.8)
    add("knee_r", "z", -stance * 0.8)
    local = {}
    for joint, mats in rot.items():
        m = mats[0]
        for extra in mats[1:]:
            m = m @ extra
        local[joint] = m
    return local, disp


def perform_gesture(gesture: str, rng: np.random.Generator, subject: dict, n_frames: int = N_FRAMES) -> np.ndarray:
    """One performance -> (n_frames, 21, 3) joint positions in camera space (metres)."""
    local, disp = _gesture_rotations(gesture, n_frames, rng)
    facing = _rot("y", np.full(n_frames, subject["yaw"] + np.radians(rng.normal(0, 4))))
    local["hip_center"] = facing @ local["hip_center"] if "hip_center" in local else facing
    sway = np.cumsum(rng.normal(0, 0.002, size=(n_frames, 3)), axis=0)
    root = subject["root"] + disp @ facing[0].T + sway
    pos = forward_kinematics(local, root, subject["scale"])
    return pos + rng.normal(0, 0.006, size=pos.shape)  # Kinect jitter


def write_synthetic_kinect(root: str | Path, n_subjects: int = 20, n_repetitions: int = 2, seed: int = 0) -> Path:
    """Write `root/training/Sub_U<id>/<gesture>/ex_<k>.txt` like JK2017; returns root."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    for s in range(n_subjects):
        subject = {
            "scale": rng.uniform(0.88, 1.12),
            "root": np.array([rng.uniform(-0.3, 0.3), rng.uniform(-0.5, -0.3), rng.uniform(2.2, 3.0)]),
            "yaw": np.radians(rng.normal(0, 10)),
        }
        sub_id = 100 + s if s < 12 else 200 + s - 12  # Sub_U100..U111, Sub_U200.. as in JK2017
        for gesture in JK2017_CLASSES:
            for k in range(1, n_repetitions + 1):
                frames = perform_gesture(gesture, rng, subject)
                write_jk2017_file(root / "training" / f"Sub_U{sub_id}" / gesture / f"ex_{k}.txt", gesture, frames)
    return root
