"""From the raw file to training windows, test windows and multimodal ground truth (notes 1.2 and 1.3).

Shapes: a take is ``(T, n, 3)`` in the node layout (root-relative, root dropped, metres). A window is
``(t_total, D)`` with ``D = 3 n`` joint-major (x, y, z of node 0, then node 1, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from diverse_sampling.config import Config
from diverse_sampling.data.io import data_file, read_positions
from diverse_sampling.data.kinematics import bone_lengths, retarget
from diverse_sampling.data.layout import DatasetLayout, get_layout
from motionkit.errors import DataFormatError


def to_nodes(positions: np.ndarray, layout: DatasetLayout) -> np.ndarray:
    """File joints (T, J_file, 3) -> node layout (T, n, 3): select joints, make root-relative, drop the root."""
    kept = positions[:, list(layout.joints_used)]
    return (kept[:, 1:] - kept[:, :1]).astype(np.float32)


def check_skeleton(nodes: np.ndarray, layout: DatasetLayout, where: str, min_length: float = 1e-3,
                   max_length: float = 3.0, units_hint: str = "the data file must hold metres") -> None:
    """A take whose bones (median over its frames) are shorter than 1 mm is not a skeleton (e.g. all-zero poses);
    one longer than 3 m is not a person in metres (millimetres read as metres: bones of 100-500 "m")."""
    lengths = np.median(bone_lengths(nodes, layout.node_parents), axis=0)
    if (lengths < min_length).any():
        j = int(np.argmin(lengths))
        raise DataFormatError(f"{where}: bone of node {j} is {lengths[j]:.2g} m long (median over the take); "
                              "the poses are degenerate (all zero?)")
    if (lengths > max_length).any():
        j = int(np.argmax(lengths))
        raise DataFormatError(f"{where}: bone of node {j} is {lengths[j]:.3g} m long (median over the take); "
                              f"no human bone is over 3 m: are the positions in millimetres? ({units_hint})")


@dataclass
class MotionData:
    """All takes of one split in the node layout, with their action labels."""

    layout: DatasetLayout
    takes: dict[str, dict[str, np.ndarray]]  # subject -> action -> (T, n, 3), actions sorted by name
    file_order: dict[str, list[str]] = field(default_factory=dict)  # subject -> its kept actions in file order

    def first_take(self, subject: str) -> str:
        """The subject's first kept take in the file's order (the original places pool candidates with it)."""
        order = self.file_order.get(subject) or sorted(self.takes[subject])
        return order[0]

    def items(self):
        for subject, acts in self.takes.items():
            for action, arr in acts.items():
                yield subject, action, arr

    def all_frames(self) -> np.ndarray:
        return np.concatenate([arr for _, _, arr in self.items()], axis=0)


def load_split(cfg: Config, split: str) -> MotionData:
    """Read the raw file under ``cfg.data_root`` and keep the ``split`` ("train" | "test") subjects."""
    layout = get_layout(cfg.dataset)
    path = data_file(cfg.data_root, layout)
    raw = read_positions(path, layout.n_file_joints)
    subjects = cfg.train_subjects if split == "train" else cfg.test_subjects
    excluded = set(cfg.exclude_takes)
    if cfg.strict_exclusions:
        for key in excluded:
            s, a = key.rsplit("/", 1)
            if a not in raw.get(s, {}):
                raise DataFormatError(f"{path}: excluded take {key!r} is not in the file (strict_exclusions)")
    takes: dict[str, dict[str, np.ndarray]] = {}
    for subject in subjects:
        if subject not in raw:
            raise DataFormatError(f"{path}: subject {subject!r} ({split} split) not found; has {sorted(raw)}")
        for action, arr in sorted(raw[subject].items()):
            if f"{subject}/{action}" in excluded or len(arr) < cfg.t_total:
                continue
            nodes = to_nodes(arr, layout)
            check_skeleton(nodes, layout, f"{path}: take {subject}/{action}")
            takes.setdefault(subject, {})[action] = nodes
    if not takes:
        raise DataFormatError(f"{path}: no {split} take is at least t_his+t_pred={cfg.t_total} frames long")
    order = {s: [a for a in raw[s] if a in takes[s]] for s in takes}
    return MotionData(layout, takes, order)


# ------------------------------------------------------------------------------------------------------------
class TrainWindows(torch.utils.data.Dataset):
    """``windows_per_epoch`` random training windows (random subject, action and start frame).

    Item ``i`` of epoch ``e`` is drawn from an RNG seeded by ``(seed, e, i)``: runs are reproducible, resumable
    and can be split over DDP ranks by index. With a candidate ``pool`` (t1), a window that has candidates is,
    with probability ``pseudo_future_prob``, given the future of a random candidate (its history is kept).
    Returns ``(window (t_total, D) float32, label int)``.
    """

    def __init__(self, data: MotionData, cfg: Config, pool=None):
        self.data, self.cfg, self.pool = data, cfg, pool
        self.subjects = sorted(data.takes)
        self.actions = {s: sorted(data.takes[s]) for s in self.subjects}
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.cfg.windows_per_epoch

    def __getitem__(self, i: int):
        cfg = self.cfg
        rng = np.random.default_rng([cfg.seed, self.epoch, i])
        subject = self.subjects[rng.integers(len(self.subjects))]
        action = self.actions[subject][rng.integers(len(self.actions[subject]))]
        seq = self.data.takes[subject][action]
        start = int(rng.integers(seq.shape[0] - cfg.t_total + 1))
        window = seq[start : start + cfg.t_total].copy()
        if self.pool is not None and rng.random() < cfg.pseudo_future_prob:
            cands = self.pool.candidates(subject, action, start)
            if len(cands):
                fut = self.pool.positions(subject, int(cands[rng.integers(len(cands))]))
                window[cfg.t_his :] = fut[cfg.t_his :]
        return window.reshape(cfg.t_total, -1), self.data.layout.label_of(action)


# ------------------------------------------------------------------------------------------------------------
@dataclass
class EvalWindows:
    """Strided test windows and their multimodal ground truth.

    windows: (N, t_total, D); labels: (N,); groups: list of N int arrays (indices of windows whose last observed
    pose is within ``mm_threshold`` of window i, i itself included); lengths: (N, n) bone lengths of each window
    at frame t_his (used to retarget borrowed futures, quirk 6).
    """

    windows: np.ndarray
    labels: np.ndarray
    groups: list[np.ndarray]
    lengths: np.ndarray
    parents: np.ndarray

    def __len__(self) -> int:
        return len(self.windows)

    def group_futures(self, i: int, t_his: int, retarget_to_window: bool) -> np.ndarray:
        """(G_i, t_pred, D) multimodal GT futures of window i (own GT first)."""
        idx = self.groups[i]
        fut = self.windows[idx, t_his:]
        if retarget_to_window and len(idx) > 1:
            n = self.lengths.shape[1]
            pos = fut.reshape(len(idx), fut.shape[1], n, 3)
            pos = retarget(pos, self.lengths[i], self.parents).astype(np.float32)
            pos[0] = fut[0].reshape(-1, n, 3)  # own GT unchanged
            fut = pos.reshape(fut.shape)
        return fut


def multimodal_groups(last_poses: np.ndarray, threshold: float, chunk: int = 1024) -> list[np.ndarray]:
    """For each window, the windows whose last observed pose (N, D) lies within L2 < threshold (self first)."""
    x = torch.from_numpy(np.asarray(last_poses, dtype=np.float64))
    groups = []
    for s in range(0, len(x), chunk):
        d = torch.cdist(x[s : s + chunk], x)
        for r in range(d.shape[0]):
            i = s + r
            nb = torch.nonzero(d[r] < threshold).flatten().numpy()
            groups.append(np.concatenate([[i], nb[nb != i]]).astype(np.int64))
    return groups


def build_test_set(cfg: Config, data: MotionData | None = None) -> EvalWindows:
    """Sliding windows ``start in range(0, T - t_total, stride)`` over every test take (the original's range)."""
    data = data or load_split(cfg, "test")
    wins, labels = [], []
    for _, action, seq in data.items():
        for start in range(0, seq.shape[0] - cfg.t_total, cfg.stride):
            wins.append(seq[start : start + cfg.t_total])
            labels.append(data.layout.label_of(action))
    if not wins:
        raise DataFormatError(f"{cfg.data_root}: no test window of {cfg.t_total} frames")
    windows = np.stack(wins)
    if cfg.max_test_windows:
        windows, labels = windows[: cfg.max_test_windows], labels[: cfg.max_test_windows]
    n = windows.shape[2]
    parents = data.layout.node_parents
    groups = multimodal_groups(windows[:, cfg.t_his - 1].reshape(len(windows), -1), cfg.mm_threshold)
    return EvalWindows(
        windows=windows.reshape(len(windows), cfg.t_total, n * 3),
        labels=np.asarray(labels, dtype=np.int64),
        groups=groups,
        lengths=bone_lengths(windows[:, cfg.t_his], parents).astype(np.float32),
        parents=parents,
    )
