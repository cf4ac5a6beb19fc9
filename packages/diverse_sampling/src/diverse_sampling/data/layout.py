"""Facts about the two data sets: file names, joint selection, skeletons, frame rates, action labels.

All numbers come from the paper notes, section 1.2. "Kept" layout = the joints the method uses with the root
first; "nodes" = kept joints minus the root (the graph nodes of the GCN, root-relative, root at the origin).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DatasetLayout:
    name: str
    filename: str
    fps: int
    n_file_joints: int  # joints per frame stored in the file
    joints_used: tuple[int, ...]  # indices into the file's joints, root first
    parents: tuple[int, ...]  # parents in the kept layout (-1 = root)
    labels: tuple[str, ...]  # action classes for the FID/ACC classifier
    how_to_get: str

    @property
    def n_nodes(self) -> int:
        return len(self.joints_used) - 1

    @property
    def node_parents(self) -> np.ndarray:
        """Parent of each node in the root-dropped layout; -1 means the root (the origin)."""
        return np.asarray([p - 1 for p in self.parents[1:]], dtype=np.int64)

    def label_of(self, action: str) -> int:
        """Class index of a sequence key: the first word (H36M "Walking 1" -> Walking; HumanEva "Jog 1 chunk0")."""
        first = action.split(" ")[0]
        first = {"TakingPhoto": "Photo", "WalkingDog": "WalkDog"}.get(first, first)
        return self.labels.index(first) if first in self.labels else -1


H36M = DatasetLayout(
    name="h36m",
    filename="data_3d_h36m.npz",
    fps=50,
    n_file_joints=32,
    joints_used=(0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    labels=(
        "Directions", "Discussion", "Eating", "Greeting", "Phoning", "Posing", "Purchases", "Sitting",
        "SittingDown", "Smoking", "Photo", "Waiting", "Walking", "WalkDog", "WalkTogether",
    ),
    how_to_get=(
        "get Human3.6M from http://vision.imar.ro/human3.6m (licence required) and build data_3d_h36m.npz with "
        "VideoPose3D's data/prepare_data_h36m.py, or run `python -m diverse_sampling.main --make-synthetic` "
        "for the synthetic stand-in"
    ),
)

HUMANEVA = DatasetLayout(
    name="humaneva",
    filename="data_3d_humaneva15.npz",
    fps=60,
    n_file_joints=15,
    joints_used=tuple(range(15)),
    parents=(-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1),
    labels=("Box", "Gestures", "Jog", "ThrowCatch", "Walking"),
    how_to_get=(
        "get HumanEva-I from http://humaneva.is.tue.mpg.de (licence required) and build data_3d_humaneva15.npz "
        "with VideoPose3D's data/prepare_data_humaneva.py, or run `python -m diverse_sampling.main "
        "--make-synthetic --dataset humaneva` for the synthetic stand-in"
    ),
)

LAYOUTS = {"h36m": H36M, "humaneva": HUMANEVA}

# Parents of the 32-joint H36M file (used by the synthetic generator to fill the 15 unused slots).
H36M_32_PARENTS = (
    -1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12, 16, 17, 18, 19, 20, 19, 22, 12, 24, 25, 26, 27,
    28, 27, 30,
)


def get_layout(name: str) -> DatasetLayout:
    from motionkit.errors import ConfigError

    if name not in LAYOUTS:
        raise ConfigError(f"dataset {name!r} unknown; choose one of {sorted(LAYOUTS)}")
    return LAYOUTS[name]
