"""Synthetic stand-in for Human3.6M (apo_tf.md §8.1), written in the converted-H3.6M hdf5 layout.

A kinematic body (24 s24 joints plus the filler joints of the raw 32-joint layout) is driven by action-like
joint-angle programs (gait, standing gestures, sitting) with Ornstein-Uhlenbeck noise, clipped to normal joint
ranges, planted on the floor, and filmed by four Human3.6M-like pinhole cameras. Deterministic from a seed.

Body frame: x = subject's left, y = backward, z = up (right-handed), so the canonical facing is -y and
l_hip - r_hip points along +x (front angle 0, as in the training normalisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from apo_tf.data.cameras import Camera, look_at
from apo_tf.data.h3m import RawSequence, RawView, write_sequences
from motionkit.skeletons import get_skeleton

# camera id -> (f px, c px, azimuth deg, height m); 55011271 sits where the S1 calibration puts it (§3.1)
CAMERAS = {
    "54138969": ((1145.049, 1143.781), (512.542, 515.451), 110.0, 1.55),
    "55011271": ((1149.676, 1147.592), (508.849, 508.065), -70.9, 1.606),
    "58860488": ((1149.141, 1148.799), (519.816, 501.403), 70.0, 1.52),
    "60457274": ((1145.511, 1144.774), (514.968, 501.882), -110.0, 1.58),
}
CAMERA_RADIUS = 5.375  # m

ACTIONS = ("Directions", "Discussion", "Eating", "Greeting", "Phoning", "Photo", "Posing", "Purchases", "Sitting",
           "SittingDown", "Smoking", "Waiting", "Walking", "WalkDog", "WalkTogether")

# DOF -> (min, max) degrees (apo_tf.md §8.1 joint-limit table); l_/r_ mirrored
LIMITS = {
    "hip_flex": (-20, 120), "hip_abd": (-25, 45), "hip_rot": (-40, 45), "knee": (0, 140), "ankle": (-40, 20),
    "sp_flex": (-25, 80), "sp_lat": (-35, 35), "sp_twist": (-45, 45),
    "n_flex": (-55, 50), "n_lat": (-40, 40), "n_rot": (-75, 75),
    "sh_flex": (-50, 180), "sh_abd": (-30, 180), "sh_rot": (-70, 90), "elbow": (0, 145),
}
SIDED = ("hip_flex", "hip_abd", "hip_rot", "knee", "ankle", "sh_flex", "sh_abd", "sh_rot", "elbow")
DOFS = tuple(f"{s}_{d}" for d in SIDED for s in "lr") + ("sp_flex", "sp_lat", "sp_twist", "n_flex", "n_lat", "n_rot")


@dataclass
class SynthSize:
    train_subjects: tuple[str, ...]
    eval_subjects: tuple[str, ...]
    actions: tuple[str, ...]
    eval_actions: tuple[str, ...]
    train_frames: int
    eval_frames: int


SIZES = {
    "synth": SynthSize(("S1", "S5", "S6", "S7", "S8"), ("S9", "S11"), ACTIONS, ACTIONS, 1000, 500),
    "synth_tiny": SynthSize(("S1", "S5"), ("S9",), ("Walking", "Sitting", "Phoning"), ("Walking", "Phoning"),
                            200, 100),
}


def _rot(axis: int, deg: np.ndarray) -> np.ndarray:
    """(T,) degrees -> (T, 3, 3) rotation about x (0), y (1) or z (2)."""
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    if axis == 0:
        m = [[o, z, z], [z, c, -s], [z, s, c]]
    elif axis == 1:
        m = [[c, z, s], [z, o, z], [-s, z, c]]
    else:
        m = [[c, -s, z], [s, c, z], [z, z, o]]
    return np.moveaxis(np.array(m), (0, 1), (-2, -1))


def _ou(rng: np.random.Generator, T: int, sigma: float, fps: float, tau: float = 0.5) -> np.ndarray:
    """Stationary Ornstein-Uhlenbeck path (T,) with std ``sigma`` and time constant ``tau`` seconds."""
    a = np.exp(-1.0 / (fps * tau))
    x = np.empty(T)
    x[0] = rng.normal() * sigma
    eps = rng.normal(size=T) * sigma * np.sqrt(1 - a * a)
    for t in range(1, T):
        x[t] = a * x[t - 1] + eps[t]
    return x


def _program(action: str, T: int, fps: float, rng: np.random.Generator) -> tuple[dict, np.ndarray, np.ndarray]:
    """Joint-angle targets (deg, each (T,)), root xy (T, 2) m and yaw (T,) rad for one action-like sequence."""
    t = np.arange(T) / fps
    d = {k: np.zeros(T) for k in DOFS}
    for s in "lr":
        d[f"{s}_knee"] += 5
        d[f"{s}_sh_abd"] += 8
        d[f"{s}_elbow"] += 15
    u = lambda lo, hi: rng.uniform(lo, hi)  # noqa: E731
    osc = lambda f, ph=0.0: np.sin(2 * np.pi * f * t + ph)  # noqa: E731
    slow = lambda: 0.5 + 0.5 * osc(u(0.05, 0.2), u(0, 6.3))  # noqa: E731  in [0, 1]
    xy = np.zeros((T, 2)) + rng.normal(0, 0.3, 2)
    yaw = np.full(T, u(-np.pi, np.pi))
    if action in ("Walking", "WalkDog", "WalkTogether"):
        speed = u(1.0, 1.5) * (0.8 if action == "WalkTogether" else 1.0)
        radius = u(1.5, 2.2)
        direction = rng.choice([-1.0, 1.0])
        theta = u(0, 2 * np.pi) + direction * speed / radius * t
        xy = radius * np.stack([np.cos(theta), np.sin(theta)], -1)
        vel = np.gradient(xy, axis=0)
        yaw = np.arctan2(vel[:, 0], -vel[:, 1])  # forward (-y body) along the velocity
        ph = 2 * np.pi * u(1.7, 2.0) / 2 * t + u(0, 6.3)  # stride phase; cadence 1.7-2.0 steps/s
        for s, off in (("l", 0.0), ("r", np.pi)):
            d[f"{s}_hip_flex"] = 10 + 25 * np.sin(ph + off)
            d[f"{s}_knee"] = 5 + 55 * np.maximum(0, np.sin(ph + off + 1.2)) ** 1.5
            d[f"{s}_ankle"] = 10 * np.sin(ph + off - 0.5)
            d[f"{s}_sh_flex"] = -20 * np.sin(ph + off)
            d[f"{s}_elbow"] = 20 + 10 * np.sin(ph + off)
        d["sp_twist"] = 5 * np.sin(ph)
        if action == "WalkDog":
            d["sp_flex"] += 15
            d["r_sh_flex"] = 35 + 5 * np.sin(ph)
            d["r_elbow"] += 30
        if action == "WalkTogether":
            d["n_rot"] += rng.choice([-30.0, 30.0])
    elif action in ("Sitting", "SittingDown", "Eating"):
        sit = np.ones(T)
        if action == "SittingDown":
            t0, t1 = u(0.2, 0.4) * t[-1], u(0.5, 0.7) * t[-1]
            x = np.clip((t - t0) / max(t1 - t0, 1e-6), 0, 1)
            sit = x * x * (3 - 2 * x)
            d["sp_flex"] += 35 * np.sin(np.pi * x)  # lean forward while sitting down
        for s in "lr":
            d[f"{s}_hip_flex"] += sit * u(80, 100)
            d[f"{s}_knee"] += sit * u(75, 95)
            d[f"{s}_hip_abd"] += sit * u(0, 10)
            d[f"{s}_sh_flex"] += u(10, 40) * slow()
            d[f"{s}_elbow"] += u(20, 70) * slow()
        d["sp_flex"] += u(0, 20) * slow()
        if action == "Eating":
            d["r_sh_flex"] += 30 + 20 * np.maximum(0, osc(0.25))
            d["r_elbow"] += 70 + 50 * np.maximum(0, osc(0.25))
    else:  # standing actions with slow root drift
        xy = xy + np.cumsum(rng.normal(0, 0.004, (T, 2)), 0)
        yaw = yaw + np.deg2rad(30) * np.sin(2 * np.pi * u(0.02, 0.08) * t + u(0, 6.3))
        g = u(0.2, 0.6)
        if action == "Directions":
            d["r_sh_flex"] += 70 * np.maximum(0, osc(0.15)) + 10
            d["r_elbow"] += 10
            d["n_rot"] += 20 * osc(0.1)
        elif action == "Discussion":
            for s in "lr":
                d[f"{s}_sh_flex"] += 25 + 15 * osc(g, u(0, 6.3))
                d[f"{s}_elbow"] += 60 + 25 * osc(g, u(0, 6.3))
        elif action == "Greeting":
            d["r_sh_abd"] += 110 * slow() + 10
            d["r_elbow"] += 50 + 30 * osc(1.5)
            d["sp_flex"] += 10 * slow()
        elif action == "Phoning":
            d["r_sh_flex"] += 30
            d["r_sh_abd"] += 25
            d["r_elbow"] += 115
            d["n_lat"] += 10
            d["l_elbow"] += 40 * slow()
        elif action == "Photo":
            for s in "lr":
                d[f"{s}_sh_flex"] += 75 * slow() + 10
                d[f"{s}_elbow"] += 100 * slow() + 10
        elif action == "Posing":
            for s in "lr":
                d[f"{s}_sh_abd"] += u(40, 90)
                d[f"{s}_hip_abd"] += u(5, 20)
            d["sp_lat"] += u(-15, 15)
        elif action == "Purchases":
            d["r_sh_flex"] += 55 * slow()
            d["sp_flex"] += 30 * slow()
        elif action == "Smoking":
            d["r_sh_flex"] += 35 + 15 * np.maximum(0, osc(0.2))
            d["r_elbow"] += 90 + 40 * np.maximum(0, osc(0.2))
        elif action == "Waiting":
            for s in "lr":
                d[f"{s}_sh_flex"] += 20
                d[f"{s}_elbow"] += 80
            d["l_hip_abd"] += 6 * osc(0.1)
            d["r_hip_abd"] -= 6 * osc(0.1)
            d["l_knee"] += 10 * np.maximum(0, osc(0.1))
    for k in DOFS:  # OU noise, larger on arms and neck
        sigma = u(6, 12) if k[2:4] in ("sh", "el") or k.startswith("n_") else u(3, 6)
        d[k] = d[k] + _ou(rng, T, sigma, fps)
    for k in DOFS:
        lo, hi = LIMITS[k[2:] if k[:2] in ("l_", "r_") else k]
        d[k] = np.clip(d[k], lo, hi)
    return d, xy, yaw


def forward_kinematics(d: dict, xy: np.ndarray, yaw: np.ndarray, H: float, seg: dict) -> dict[str, np.ndarray]:
    """Joint-angle programs -> world joint positions (T, 3) keyed by h36m_32 name, planted on the floor (z=0)."""
    T = len(yaw)
    Rb = _rot(2, np.rad2deg(yaw))
    mv = lambda R, v: np.einsum("tij,j->ti", R, np.asarray(v) * H)  # noqa: E731
    P = np.zeros((T, 3))
    P[:, :2] = xy
    out = {}
    for s, sign in (("l", 1.0), ("r", -1.0)):
        hip = P + mv(Rb, [sign * 0.075, 0, 0])
        Rh = Rb @ _rot(0, -d[f"{s}_hip_flex"]) @ _rot(1, -sign * d[f"{s}_hip_abd"]) @ _rot(2, sign * d[f"{s}_hip_rot"])
        knee = hip + mv(Rh, [0, 0, -0.245 * seg["thigh"]])
        Rk = Rh @ _rot(0, d[f"{s}_knee"])
        ankle = knee + mv(Rk, [0, 0, -0.246 * seg["shank"]])
        Ra = Rk @ _rot(0, d[f"{s}_ankle"])
        ball = ankle + mv(Ra, [0, -0.092 * seg["foot"], -0.039])
        out.update({f"{s}_hip": hip, f"{s}_knee": knee, f"{s}_ankle": ankle, f"{s}_ball": ball,
                    f"{s}_toes": ball + mv(Ra, [0, -0.05 * seg["foot"], 0])})
    Rs = Rb @ _rot(0, d["sp_flex"]) @ _rot(1, d["sp_lat"]) @ _rot(2, d["sp_twist"])
    thorax = P + mv(Rs, [0, 0, 0.28 * seg["spine"]])
    neck = thorax + mv(Rs, [0, 0, 0.05])
    Rn = Rs @ _rot(0, d["n_flex"]) @ _rot(1, d["n_lat"]) @ _rot(2, d["n_rot"])
    out.update({"thorax": thorax, "neck": neck, "head_center": neck + mv(Rn, [0, -0.02, 0.07]),
                "head_back": neck + mv(Rn, [0, 0, 0.14]), "hip": P, "spine": 0.5 * (P + thorax)})
    for s, sign in (("l", 1.0), ("r", -1.0)):
        sh = neck + mv(Rs, [sign * 0.129, 0, -0.04])
        Ru = Rs @ _rot(0, -d[f"{s}_sh_flex"]) @ _rot(1, -sign * d[f"{s}_sh_abd"]) @ _rot(2, sign * d[f"{s}_sh_rot"])
        elbow = sh + mv(Ru, [0, 0, -0.186 * seg["upper_arm"]])
        Rf = Ru @ _rot(0, -d[f"{s}_elbow"])
        wrist = elbow + mv(Rf, [0, 0, -0.146 * seg["forearm"]])
        little = wrist + mv(Rf, [0, 0.015, -0.075])
        out.update({f"{s}_shoulder": sh, f"{s}_elbow": elbow, f"{s}_wrist": wrist, f"{s}_hand": wrist,
                    f"{s}_thumb": wrist + mv(Rf, [0, -0.025, -0.05]), f"{s}_little": little,
                    f"{s}_little_tip": little, f"{s}_clavicle": thorax})
    feet = np.stack([out[f"{s}_{j}"][:, 2] for s in "lr" for j in ("ball", "toes")]
                    + [out[f"{s}_ankle"][:, 2] - 0.039 * H for s in "lr"], -1)
    lift = np.stack([np.zeros_like(feet[:, 0])] * 2 + [feet.min(-1)], -1)
    return {k: v - lift for k, v in out.items()}


def make_cameras() -> dict[str, Camera]:
    """The four Human3.6M-like cameras, in mm and pixels."""
    cams = {}
    for cid, (f, c, az, h) in CAMERAS.items():
        a = np.deg2rad(az)
        pos = np.array([CAMERA_RADIUS * np.cos(a), CAMERA_RADIUS * np.sin(a), h])
        R, t = look_at(pos, np.array([0.0, 0.0, 0.9]))
        cams[cid] = Camera(R, t * 1000.0, np.array(f), np.array(c))
    return cams


def generate(size: str = "synth", seed: int = 0, pixel_noise: float = 0.0) -> list[RawSequence]:
    """All sequences of a synthetic dataset ``size`` ("synth" or "synth_tiny")."""
    spec = SIZES[size]
    h36m = get_skeleton("h36m_32")
    cams = make_cameras()
    root = np.random.default_rng(seed)
    seqs = []
    subjects = [(s, spec.actions, spec.train_frames) for s in spec.train_subjects]
    subjects += [(s, spec.eval_actions, spec.eval_frames) for s in spec.eval_subjects]
    bar = tqdm(total=sum(len(a) for _, a, _ in subjects), desc=f"generate {size}", unit="seq", disable=None)
    for subject, actions, T in subjects:
        H = float(np.clip(root.normal(1.70, 0.07), 1.5, 1.9))
        seg = {k: root.uniform(0.97, 1.03) for k in ("thigh", "shank", "foot", "spine", "upper_arm", "forearm")}
        for action in actions:
            rng = np.random.default_rng(root.integers(2**63))
            d, xy, yaw = _program(action, T, 50.0, rng)
            joints = forward_kinematics(d, xy, yaw, H, seg)
            p3 = np.stack([joints[n] for n in h36m.joints], 1) * 1000.0  # (T, 32, 3) mm
            views = {}
            for cid, cam in cams.items():
                p3c = cam.world_to_camera(p3)
                p2 = cam.project(p3) + pixel_noise * rng.normal(size=p3.shape[:2] + (2,))
                views[cid] = RawView(cid, p2, p3c)
            seqs.append(RawSequence(subject, f"{action} 1", p3, views, 50.0))
            bar.update(1)
    bar.close()
    return seqs


def write(path: str | Path, size: str = "synth", seed: int = 0, pixel_noise: float = 0.0) -> Path:
    """Generate and write a synthetic dataset in the converted-H3.6M layout; returns the path."""
    write_sequences(path, generate(size, seed, pixel_noise))
    return Path(path)
