"""HumanEva-I in a converted hdf5 layout (apo_tf.md §3.3), read into the same structures as Human3.6M.

Layout (mm and pixels; the joint axis is the 20-joint conic-limb model "s20", in :data:`S20` order)::

    subjects/<S>/sequences/<Action>_<trial>/p3             (T, 20, 3) world 3D
    subjects/<S>/sequences/<Action>_<trial>/views/<cam>/p2 (T, 20, 2), .../p3 (T, 20, 3)
    attrs: fps (60 for trials 1-2, 120 for trial 3); trial 1 also train_stop p0 and eval_stop p1

Split (the code's intent): train = trial 1 frames [0, p0) + all of trial 3; eval = trial 1 frames [p0, p1).
``faithful=True`` reproduces the frozen code, where the bounds are never applied (whole trial 1 in both splits).
Converting the raw .c3d/.avi release needs OpenCV and is not part of this package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apo_tf.data.h3m import RawSequence, read_sequences
from motionkit.errors import DataFormatError

SUBJECTS = ("S1", "S2", "S3")
ACTIONS = ("Gestures", "Jog", "ThrowCatch", "Walking", "Box")
_SEGMENTS = ("upper_arm", "lower_arm", "upper_leg", "lower_leg")
S20 = ("torso_proximal", "torso_distal", "head_proximal", "head_distal") + tuple(
    f"{side}_{seg}_{end}" for side in "lr" for seg in _SEGMENTS for end in ("proximal", "distal"))


def category(sequence_name: str) -> str:
    """``"Walking_1"`` -> ``"Walking"``."""
    return sequence_name.rsplit("_", 1)[0]


def raw_to_s14(p: np.ndarray) -> np.ndarray:
    """s20 (..., 20, C) -> s14 (..., 14, C): elbows/knees are midpoints of the two segment ends (§3.2)."""
    g = lambda n: p[..., S20.index(n), :]  # noqa: E731
    mid = lambda a, b: 0.5 * (g(a) + g(b))  # noqa: E731
    joints = [g("head_distal"), g("head_proximal")]
    for side in "rl":
        joints += [g(f"{side}_upper_arm_proximal"), mid(f"{side}_upper_arm_distal", f"{side}_lower_arm_proximal"),
                   g(f"{side}_lower_arm_distal")]
    for side in "rl":
        joints += [g(f"{side}_upper_leg_proximal"), mid(f"{side}_upper_leg_distal", f"{side}_lower_leg_proximal"),
                   g(f"{side}_lower_leg_distal")]
    return np.stack(joints, axis=-2)


def _slice(seq: RawSequence, a: int, b: int | None) -> RawSequence:
    views = {k: type(v)(v.camera_id, v.p2[a:b], v.p3[a:b]) for k, v in seq.views.items()}
    return RawSequence(seq.subject, seq.name, seq.p3[a:b], views, seq.fps, seq.skeleton)


def read_split(path: str | Path, split: str, faithful: bool = False) -> list[RawSequence]:
    import h5py

    seqs = read_sequences(path, SUBJECTS, n_joints=len(S20), skeleton="eva_s20")
    out = []
    with h5py.File(path, "r") as f:
        for s in seqs:
            trial = s.name.rsplit("_", 1)[-1]
            if category(s.name) not in ACTIONS:
                continue
            attrs = f[f"subjects/{s.subject}/sequences/{s.name}"].attrs
            if trial == "1":
                if "train_stop" not in attrs or "eval_stop" not in attrs:
                    raise DataFormatError(f"{path}: {s.subject}/{s.name} lacks attrs train_stop/eval_stop")
                p0, p1 = int(attrs["train_stop"]), int(attrs["eval_stop"])
                if not (0 < p0 < p1 and p0 < len(s.p3)):
                    raise DataFormatError(f"{path}: {s.subject}/{s.name} train_stop {p0}, eval_stop {p1}: expected "
                                          f"0 < train_stop < eval_stop, train_stop < {len(s.p3)} frames")
                if faithful:
                    out.append(s)
                else:
                    out.append(_slice(s, 0, p0) if split == "train" else _slice(s, p0, p1))
            elif trial == "3" and split == "train":
                out.append(s)
    if not out:
        raise DataFormatError(f"{path}: no HumanEva {split} sequences (subjects {SUBJECTS}, actions {ACTIONS})")
    return out
