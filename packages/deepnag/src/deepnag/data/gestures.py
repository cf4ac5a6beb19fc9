"""The in-memory form every reader returns: raw variable-length sequences with labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class GestureSet:
    """Raw gestures as read from disk.

    sequences: list of (T_i, F) float arrays (F = 2 for pen x, y; F = 63 for 21 Kinect joints x xyz).
    labels: (N,) int class indices into `class_names`.
    subjects: (N,) subject id of each sample (for the user-independent recogniser protocol).
    files: (N,) source file of each sample.
    kind: "pen" or "kinect".
    """

    sequences: list[np.ndarray]
    labels: np.ndarray
    class_names: list[str]
    subjects: list[str]
    files: list[str] = field(default_factory=list)
    kind: str = "pen"

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def n_features(self) -> int:
        return int(self.sequences[0].shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)
