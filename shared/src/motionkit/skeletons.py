"""Skeleton definitions shared by the motionzoo packages.

A :class:`Skeleton` is a named list of joints, the parent of each joint (``-1`` for a root), and the left/right
pairs that a mirror swaps. Poses are arrays whose second-to-last axis indexes joints: ``(..., J, C)`` with C = 2
or 3 coordinates. Converting between skeletons gathers joints by name, so two skeletons that name a joint the
same way agree on what that joint is.

Joint tables come from the research notes in ``shared/papers/`` (deepnag.md §3.2, diverse_sampling.md §1.2,
apo_tf.md §3.2, nads_spade.md §6-7, cdiffgan.md §2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Skeleton", "SKELETONS", "get_skeleton"]


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree (or, for root-dropped layouts, a forest) of named joints.

    Args:
        name: registry name, e.g. ``"h36m_17"``.
        joints: joint names in storage order.
        parents: parent index of every joint, ``-1`` for a root. A parent always precedes its child is NOT
            required; cycles are rejected.
        symmetry: ``(left, right)`` joint-name pairs swapped by :attr:`mirror_perm`.
        root_dropped: True for layouts made by removing the root of a tree (the DLow/GSPS 16- and 14-node
            sets): their orphans have parent ``-1`` and hang, conceptually, from the removed root.
    """

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]
    symmetry: tuple[tuple[str, str], ...] = ()
    root_dropped: bool = False
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.joints) != len(self.parents):
            raise ValueError(f"skeleton {self.name}: {len(self.joints)} joints but {len(self.parents)} parents")
        if len(set(self.joints)) != len(self.joints):
            raise ValueError(f"skeleton {self.name}: duplicate joint names")
        self._index.update({n: i for i, n in enumerate(self.joints)})
        for p in self.parents:
            if not -1 <= p < len(self.joints):
                raise ValueError(f"skeleton {self.name}: parent index {p} out of range")
        for left, right in self.symmetry:
            if left not in self._index or right not in self._index:
                raise ValueError(f"skeleton {self.name}: symmetry pair ({left}, {right}) names an unknown joint")
        for j in range(len(self.joints)):  # reject cycles: walking up must reach a root within J steps
            k, steps = j, 0
            while k != -1:
                k, steps = self.parents[k], steps + 1
                if steps > len(self.joints):
                    raise ValueError(f"skeleton {self.name}: parent cycle through joint {self.joints[j]}")

    @property
    def n_joints(self) -> int:
        return len(self.joints)

    @property
    def roots(self) -> list[int]:
        return [i for i, p in enumerate(self.parents) if p == -1]

    @property
    def bones(self) -> list[tuple[int, int]]:
        """``(child, parent)`` index pairs, one per non-root joint."""
        return [(i, p) for i, p in enumerate(self.parents) if p != -1]

    @property
    def mirror_perm(self) -> np.ndarray:
        """Index permutation that swaps left and right joints: ``poses[..., perm, :]`` is the mirrored labelling."""
        perm = np.arange(self.n_joints)
        for left, right in self.symmetry:
            a, b = self._index[left], self._index[right]
            perm[a], perm[b] = b, a
        return perm

    def index(self, joint: str) -> int:
        try:
            return self._index[joint]
        except KeyError:
            raise KeyError(f"skeleton {self.name} has no joint {joint!r}") from None

    def indices(self, joints: Sequence[str]) -> list[int]:
        return [self.index(j) for j in joints]

    def subset(
        self, joints: Sequence[str], name: str | None = None, parents: Sequence[int] | None = None,
        root_dropped: bool = False,
    ) -> Skeleton:
        """A skeleton made of some of this one's joints, in the given order.

        Each kept joint's parent is its nearest kept ancestor (``-1`` if none), unless ``parents`` overrides it.
        Symmetry pairs whose two joints are both kept carry over.
        """
        keep = self.indices(joints)
        pos = {src: dst for dst, src in enumerate(keep)}
        if parents is None:
            derived = []
            for src in keep:
                p = self.parents[src]
                while p != -1 and p not in pos:
                    p = self.parents[p]
                derived.append(pos[p] if p != -1 else -1)
            parents = derived
        kept = set(joints)
        pairs = tuple((a, b) for a, b in self.symmetry if a in kept and b in kept)
        return Skeleton(name or f"{self.name}_subset", tuple(joints), tuple(parents), pairs, root_dropped)

    def convert(self, poses: np.ndarray, target: Skeleton | str) -> np.ndarray:
        """Gather ``poses`` ``(..., self.n_joints, C)`` into ``target``'s joint order ``(..., target.n_joints, C)``.

        Every target joint must exist in this skeleton under the same name.
        """
        target = get_skeleton(target) if isinstance(target, str) else target
        poses = np.asarray(poses)
        if poses.ndim < 2 or poses.shape[-2] != self.n_joints:
            raise ValueError(f"poses of shape {poses.shape} do not have {self.n_joints} joints ({self.name})")
        missing = [j for j in target.joints if j not in self._index]
        if missing:
            raise ValueError(f"cannot convert {self.name} -> {target.name}: missing joints {missing}")
        return poses[..., self.indices(target.joints), :]

    def bone_lengths(self, poses: np.ndarray) -> np.ndarray:
        """Euclidean length of every bone: ``(..., J, C)`` -> ``(..., n_bones)`` in the units of ``poses``."""
        poses = np.asarray(poses)
        child = [c for c, _ in self.bones]
        parent = [p for _, p in self.bones]
        return np.linalg.norm(poses[..., child, :] - poses[..., parent, :], axis=-1)


def _pairs(*names: str, left: str = "l_", right: str = "r_") -> tuple[tuple[str, str], ...]:
    return tuple((left + n, right + n) for n in names)


# --- Kinect v2 (25 joints, Microsoft order) and JK2017's 21-joint subset (deepnag.md §3.2) ----------------------
_KINECT_NAMES = (
    "hip_center", "spine_center", "neck", "head",
    "shoulder_l", "elbow_l", "wrist_l", "hand_l",
    "shoulder_r", "elbow_r", "wrist_r", "hand_r",
    "hip_l", "knee_l", "ankle_l", "foot_l",
    "hip_r", "knee_r", "ankle_r", "foot_r",
    "spine_top", "hand_tip_l", "thumb_l", "hand_tip_r", "thumb_r",
)
_KINECT_PARENTS = (-1, 0, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, 1, 7, 6, 11, 10)
_KINECT_SYM = tuple(
    (f"{n}_l", f"{n}_r")
    for n in ("shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot", "hand_tip", "thumb")
)
KINECT_V2_25 = Skeleton("kinect_v2_25", _KINECT_NAMES, _KINECT_PARENTS, _KINECT_SYM)
JK2017_KINECT_21 = KINECT_V2_25.subset(_KINECT_NAMES[:21], name="jk2017_kinect_21")

# --- Human3.6M raw 32 joints (names after the CDF / apo_tf.md §3.2; parents as VideoPose3D) --------------------
_H36M_NAMES = (
    "hip", "r_hip", "r_knee", "r_ankle", "r_ball", "r_toes",
    "l_hip", "l_knee", "l_ankle", "l_ball", "l_toes",
    "spine", "thorax", "neck", "head_center", "head_back",
    "l_clavicle", "l_shoulder", "l_elbow", "l_wrist", "l_hand", "l_thumb", "l_little", "l_little_tip",
    "r_clavicle", "r_shoulder", "r_elbow", "r_wrist", "r_hand", "r_thumb", "r_little", "r_little_tip",
)
_H36M_PARENTS = (
    -1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14,
    12, 16, 17, 18, 19, 20, 19, 22, 12, 24, 25, 26, 27, 28, 27, 30,
)
H36M_32 = Skeleton(
    "h36m_32", _H36M_NAMES, _H36M_PARENTS,
    _pairs("hip", "knee", "ankle", "ball", "toes", "clavicle", "shoulder", "elbow", "wrist", "hand", "thumb",
           "little", "little_tip"),
)
# DLow/GSPS/Diverse-Sampling 17-joint set: raw [0,1,2,3,6,7,8,12,13,14,15,17,18,19,25,26,27]; both shoulders
# hang from kept index 8 (raw 13), as in diverse_sampling.md §1.2. The 16-node set drops the root.
_H36M_17_RAW = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)
H36M_17 = H36M_32.subset(
    [_H36M_NAMES[i] for i in _H36M_17_RAW], name="h36m_17",
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
)
H36M_16 = H36M_17.subset(H36M_17.joints[1:], name="h36m_16", root_dropped=True)

# --- APO skeletons (apo_tf.md §3.2) ----------------------------------------------------------------------------
_S24_RAW = (12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 15, 14, 17, 18, 19, 21, 22, 25, 26, 27, 29, 30)
APO_S24 = H36M_32.subset(
    [_H36M_NAMES[i] for i in _S24_RAW], name="apo_s24",
    parents=(-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 11, 14, 15, 16, 16, 11, 19, 20, 21, 21),
)
_S16_NAMES = (
    "head", "neck", "thorax", "pelvis", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist",
    "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle",
)
APO_S16 = Skeleton(
    "apo_s16", _S16_NAMES, (-1, 0, 1, 2, 1, 4, 5, 1, 7, 8, 3, 10, 11, 3, 13, 14),
    _pairs("shoulder", "elbow", "wrist", "hip", "knee", "ankle"),
)
APO_S14 = APO_S16.subset(
    [n for n in _S16_NAMES if n not in ("thorax", "pelvis")], name="apo_s14",
    parents=(-1, 0, 1, 2, 3, 1, 5, 6, 1, 8, 9, 1, 11, 12),
)

# --- HumanEva-I, VideoPose3D 15-joint layout, and the 14-node root-dropped set (diverse_sampling.md §1.2) --------
_EVA_NAMES = (
    "pelvis", "thorax", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist",
    "l_hip", "l_knee", "l_ankle", "r_hip", "r_knee", "r_ankle", "head",
)
HUMANEVA_15 = Skeleton(
    "humaneva_15", _EVA_NAMES, (-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1),
    _pairs("shoulder", "elbow", "wrist", "hip", "knee", "ankle"),
)
HUMANEVA_14 = HUMANEVA_15.subset(_EVA_NAMES[1:], name="humaneva_14", root_dropped=True)

# --- NADS-Net 9 upper-body keypoints (nads_spade.md §6-7: 0 R-wrist ... 8 L-hip; neck is the root) ---------------
NADS_9 = Skeleton(
    "nads_9",
    ("r_wrist", "r_elbow", "r_shoulder", "neck", "l_shoulder", "l_elbow", "l_wrist", "r_hip", "l_hip"),
    (1, 2, 3, -1, 3, 4, 5, 3, 3),
    _pairs("wrist", "elbow", "shoulder", "hip"),
)

# --- PATS 52 2-D joints: upper body + both hands (cdiffgan.md §2) -----------------------------------------------
_FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def _hand(side: str) -> list[str]:
    return [f"{side}_hand_root"] + [f"{side}_{f}_{k}" for f in _FINGERS for k in range(1, 5)]


_PATS_NAMES = (
    "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow", "l_wrist", "nose", "r_eye", "l_eye",
    *_hand("l"), *_hand("r"),
)
_PATS_PARENTS = (
    -1, 0, 1, 2, 0, 4, 5, 0, 7, 7, 6, 10, 11, 12, 13, 10, 15, 16, 17, 10, 19, 20, 21, 10, 23, 24, 25,
    10, 27, 28, 29, 3, 31, 32, 33, 34, 31, 36, 37, 38, 31, 40, 41, 42, 31, 44, 45, 46, 31, 48, 49, 50,
)
PATS_52 = Skeleton(
    "pats_52", _PATS_NAMES, _PATS_PARENTS,
    _pairs("shoulder", "elbow", "wrist", "eye", "hand_root")
    + tuple((f"l_{f}_{k}", f"r_{f}_{k}") for f in _FINGERS for k in range(1, 5)),
)

SKELETONS: dict[str, Skeleton] = {
    s.name: s
    for s in (
        KINECT_V2_25, JK2017_KINECT_21, H36M_32, H36M_17, H36M_16, APO_S24, APO_S16, APO_S14,
        HUMANEVA_15, HUMANEVA_14, NADS_9, PATS_52,
    )
}


def get_skeleton(name: str) -> Skeleton:
    """Look a skeleton up by registry name (see ``SKELETONS``)."""
    try:
        return SKELETONS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton {name!r}; known: {', '.join(sorted(SKELETONS))}") from None
