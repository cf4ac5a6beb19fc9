"""The authors' derived data files (GSPS / Diverse Sampling "dataset.zip"), read when they are in the data folder.

Original layout under the data root (``./dataset`` in the original repository) ::

    h36m_valid_angle.p, humaneva_valid_angle.p      pickled dict angle name -> ndarray [min_cos, max_cos]
    data_multi_modal/data_candi_t_his25_t_pred100_skiprate20.npz
        'data_candidate.npy' -> float (N_pool, t_total, n, 3): unit bone directions of training windows
    data_multi_modal/t_his25_1_thre0.500_t_pred100_thre0.100_filtered_dlow.npz
        'data_multimodal' -> pickled dict subject -> action -> start frame (numpy int) -> int array of pool indices
    humaneva_multi_modal/data_candi_t_his15_t_pred60_skiprate15.npz
    humaneva_multi_modal/t_his15_1_thre0.500_t_pred60_thre0.010_index_filterd.npz

The pickles are read with :mod:`diverse_sampling.data.safepickle` (numpy arrays only). When the files are absent,
``data/derived.py`` rebuilds pool, index and bounds with our own code (its "filtered_dlow" step is our guess).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from diverse_sampling.config import Config
from diverse_sampling.data.dataset import MotionData
from diverse_sampling.data.kinematics import bone_lengths, from_directions
from diverse_sampling.data.safepickle import load_npz_member, load_pickle_file, npz_keys
from motionkit.errors import DataFormatError

Index = dict[str, dict[str, dict[int, np.ndarray]]]  # subject -> action -> start frame -> pool indices

_FOLDER = {"h36m": "data_multi_modal", "humaneva": "humaneva_multi_modal"}
_INDEX_SUFFIX = {"h36m": "filtered_dlow", "humaneva": "index_filterd"}  # spelled as in the authors' file names


def pool_file(cfg: Config) -> Path:
    """Where the authors' candidate pool for this setting lies under ``cfg.data_root``."""
    name = f"data_candi_t_his{cfg.t_his}_t_pred{cfg.t_pred}_skiprate{cfg.pool_stride}.npz"
    return Path(cfg.data_root) / _FOLDER[cfg.dataset] / name


def index_file(cfg: Config) -> Path:
    """Where the authors' multimodal index for this setting lies (margin 1 frame, thresholds as in the name)."""
    name = (f"t_his{cfg.t_his}_1_thre{cfg.pool_thre_his:.3f}_t_pred{cfg.t_pred}_thre{cfg.pool_thre_pred:.3f}_"
            f"{_INDEX_SUFFIX[cfg.dataset]}.npz")
    return Path(cfg.data_root) / _FOLDER[cfg.dataset] / name


def valid_angle_file(cfg: Config) -> Path:
    return Path(cfg.data_root) / f"{cfg.dataset}_valid_angle.p"


def read_valid_angles(path: str | Path) -> dict[str, list[float]]:
    """``*_valid_angle.p`` (restricted unpickler) or a JSON file of the same dict -> {angle: [min_cos, max_cos]}."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DataFormatError(f"{path}: not a JSON dict angle -> [min_cos, max_cos] ({exc})") from None
    else:
        raw = load_pickle_file(path)
    return checked_bounds(raw, path)


def checked_bounds(raw: Any, path: str | Path) -> dict[str, list[float]]:
    """{angle: [min_cos, max_cos]} with finite bounds in [-1, 1], min <= max; else a one-line DataFormatError."""
    try:
        bounds = {str(k): [float(v[0]), float(v[1])] for k, v in raw.items()}
    except (AttributeError, TypeError, IndexError, ValueError, KeyError):
        raise DataFormatError(f"{path}: expected a dict angle name -> [min_cos, max_cos]") from None
    for name, (lo, hi) in bounds.items():
        if not -1.0 - 1e-5 <= lo <= hi <= 1.0 + 1e-5:  # also refuses NaN (1e-5: rounding of a computed cosine)
            raise DataFormatError(f"{path}: angle {name!r} has bounds [{lo}, {hi}], expected -1 <= min <= max <= 1")
    return bounds


def read_pool(path: str | Path, t_total: int, n_nodes: int) -> np.ndarray:
    """The authors' candidate pool: unit bone directions (N_pool, t_total, n, 3), float32."""
    path = Path(path)
    keys = npz_keys(path)
    key = next((k for k in ("data_candidate.npy", "data_candidate") if k in keys), None)
    if key is None:
        raise DataFormatError(f"{path}: no 'data_candidate.npy' array (has {keys})")
    dirs = np.asarray(load_npz_member(path, key))
    if dirs.dtype.kind != "f" or dirs.ndim != 4 or dirs.shape[1:] != (t_total, n_nodes, 3):
        raise DataFormatError(f"{path}: candidate pool has shape {dirs.shape} {dirs.dtype}, expected float "
                              f"(N, {t_total}, {n_nodes}, 3)")
    if not np.isfinite(dirs).all():
        raise DataFormatError(f"{path}: candidate pool contains NaN or inf")
    return dirs.astype(np.float32)


def read_index(path: str | Path, n_pool: int) -> Index:
    """The authors' multimodal index dict, every entry checked to be an int array of valid pool indices."""
    path = Path(path)
    raw = load_npz_member(path, "data_multimodal")
    if not isinstance(raw, dict):
        raise DataFormatError(f"{path}: 'data_multimodal' must hold a dict subject -> action -> start -> indices")
    index: Index = {}
    for subject, actions in raw.items():
        for action, starts in (actions.items() if isinstance(actions, dict) else [(None, None)]):
            if not isinstance(starts, dict):
                raise DataFormatError(f"{path}: entry {subject}/{action} must map start frames to index arrays")
            table = index.setdefault(str(subject), {}).setdefault(str(action), {})
            for start, idx in starts.items():
                arr = np.asarray(idx)
                if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= n_pool):
                    raise DataFormatError(f"{path}: {subject}/{action}/{start} holds indices outside the pool of "
                                          f"{n_pool}")
                table[int(start)] = arr.astype(np.int64).reshape(-1)
    return index


class AuthorsPool:
    """The t1 pseudo-future pool from the authors' files; same interface as ``derived.CandidatePool``.

    As in the original (``MaoweiGSPS_Dynamic_Seq_H36m_ExtandDataset_T1``): a subject's candidates are placed with
    the bone lengths of the first frame of its first take *in file order*; a window whose subject, take or start
    frame is not in the index has no candidates.
    """

    def __init__(self, data: MotionData, dirs: np.ndarray, index: Index):
        self.data, self.dirs, self.index = data, dirs, index
        self.parents = data.layout.node_parents
        self.lengths = {s: bone_lengths(data.takes[s][data.first_take(s)][0], self.parents) for s in data.takes}

    def candidates(self, subject: str, action: str, start: int) -> np.ndarray:
        return self.index.get(subject, {}).get(action, {}).get(int(start), np.zeros(0, dtype=np.int64))

    def positions(self, subject: str, n: int) -> np.ndarray:
        return from_directions(self.dirs[n], self.lengths[subject], self.parents).astype(np.float32)

    def coverage(self) -> float:
        """Fraction of the index's start frames that have at least one candidate."""
        sizes = [len(v) for acts in self.index.values() for starts in acts.values() for v in starts.values()]
        return float(np.mean([s > 0 for s in sizes])) if sizes else 0.0


def load_authors_pool(cfg: Config, data: MotionData) -> AuthorsPool | None:
    """The authors' pool + index when both files are in ``cfg.data_root`` (and ``use_authors_files``), else None."""
    if not cfg.use_authors_files:
        return None
    pool_path, index_path = pool_file(cfg), index_file(cfg)
    if not (pool_path.is_file() and index_path.is_file()):
        return None
    dirs = read_pool(pool_path, cfg.t_total, data.layout.n_nodes)
    return AuthorsPool(data, dirs, read_index(index_path, len(dirs)))
