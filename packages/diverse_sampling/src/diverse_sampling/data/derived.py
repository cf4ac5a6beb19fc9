"""Files derived from the training data by our own code, cached beside the data (notes 1.3b and 1.4).

* candidate pool: unit bone directions ``(N_pool, t_total, n, 3)`` of every training window at stride
  ``pool_stride`` (GSPS ``data_candi_*``);
* multimodal index: for a training window, the pool entries whose last observed pose is close to the window's
  and whose future differs (GSPS ``generate_multimodal_index``); computed on demand and memoised (see
  ``CandidatePool``);
* valid-angle bounds: per-angle min/max cosine over all training frames (GSPS ``*_valid_angle.p``), as JSON.

Each cache file records a fingerprint of the raw file and of the parameters; a mismatch rebuilds it, and so does a
damaged file (unreadable, wrong shape, non-finite). Only the job that needs a cache writes it, under a lock on the
folder (:func:`cache_lock`), atomically (:func:`write_atomic`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

from diverse_sampling.config import Config
from diverse_sampling.data.authors import (
    AuthorsPool,
    checked_bounds,
    index_file,
    load_authors_pool,
    pool_file,
    read_valid_angles,
)
from diverse_sampling.data.authors import valid_angle_file as authors_valid_angle_file
from diverse_sampling.data.dataset import MotionData, load_split
from diverse_sampling.data.io import data_file, write_atomic
from diverse_sampling.data.kinematics import bone_directions, bone_lengths, from_directions, valid_angle_bounds
from diverse_sampling.data.layout import get_layout
from motionkit.errors import ConfigError, DataFormatError


def _fingerprint(cfg: Config, *params) -> str:
    path = data_file(cfg.data_root, get_layout(cfg.dataset))
    st = path.stat()
    return json.dumps([st.st_size, st.st_mtime_ns, list(cfg.train_subjects), sorted(cfg.exclude_takes), *params])


def _pool_name(cfg: Config) -> str:
    return f"candidates_t_his{cfg.t_his}_t_pred{cfg.t_pred}_skiprate{cfg.pool_stride}.npz"


def build_pool(data: MotionData, cfg: Config) -> np.ndarray:
    """Unit bone directions of all training windows at stride ``pool_stride``: (N_pool, t_total, n, 3)."""
    parents = data.layout.node_parents
    wins = [seq[s : s + cfg.t_total] for _, _, seq in data.items()
            for s in range(0, seq.shape[0] - cfg.t_total + 1, cfg.pool_stride)]
    return bone_directions(np.stack(wins), parents).astype(np.float32)


class CandidatePool:
    """The t1 data-augmentation pool with its multimodal index (GSPS ``generate_multimodal_index`` rule).

    Candidates of (subject, action, start) are the pool entries n, retargeted to the take's first-frame bone
    lengths, with (a) L2 between the flattened last observed poses < ``pool_dlow_filter`` (if > 0; our reading
    of "filtered_dlow", quirk 12), (b) mean per-joint distance at the last observed frame <= ``pool_thre_his`` and
    (c) mean per-joint distance over the future >= ``pool_thre_pred``. The index is computed on demand and
    memoised: a training run only ever asks for the ~pseudo_future_prob share of its windows, whereas the full
    table (every start frame of every take, as GSPS precomputes it) costs hours on the real data.
    """

    def __init__(self, data: MotionData, dirs: np.ndarray, cfg: Config):
        self.data, self.dirs, self.cfg = data, dirs, cfg
        self.parents = data.layout.node_parents
        # Bone lengths per subject: first frame of its first action (notes 1.3b) -- used to place candidates.
        self.lengths = {s: bone_lengths(data.takes[s][sorted(data.takes[s])[0]][0], self.parents)
                        for s in data.takes}
        self._last: dict[tuple[str, str], np.ndarray] = {}
        self._memo: dict[tuple[str, str, int], np.ndarray] = {}

    def _pool_last(self, subject: str, action: str) -> np.ndarray:
        """Pool's last observed frame retargeted to the take's first-frame bone lengths: (P, n, 3)."""
        key = (subject, action)
        if key not in self._last:
            lengths = bone_lengths(self.data.takes[subject][action][0], self.parents)
            self._last[key] = from_directions(self.dirs[:, self.cfg.t_his - 1], lengths, self.parents)
        return self._last[key]

    def candidates(self, subject: str, action: str, start: int) -> np.ndarray:
        """Pool indices (int array, possibly empty) of the candidates of this training window."""
        key = (subject, action, start)
        if key in self._memo:
            return self._memo[key]
        cfg, h = self.cfg, self.cfg.t_his
        seq = self.data.takes[subject][action]
        last = seq[start + h - 1]  # (n, 3)
        pool_last = self._pool_last(subject, action)
        diff = pool_last - last[None]
        ok = np.linalg.norm(diff, axis=-1).mean(-1) <= cfg.pool_thre_his
        if cfg.pool_dlow_filter > 0:
            ok &= np.linalg.norm(diff.reshape(len(diff), -1), axis=-1) < cfg.pool_dlow_filter
        cand = np.nonzero(ok)[0]
        if len(cand):
            lengths = bone_lengths(seq[0], self.parents)
            fut = from_directions(self.dirs[cand, h:], lengths, self.parents)  # (C, t_pred, n, 3)
            d = np.linalg.norm(fut - seq[start + h : start + cfg.t_total][None], axis=-1).mean((1, 2))
            cand = cand[d >= cfg.pool_thre_pred]
        self._memo[key] = cand.astype(np.int64)
        return self._memo[key]

    def positions(self, subject: str, n: int) -> np.ndarray:
        """Pool entry ``n`` as positions (t_total, n_nodes, 3) with ``subject``'s bone lengths."""
        return from_directions(self.dirs[n], self.lengths[subject], self.parents).astype(np.float32)

    def coverage(self, n_probe: int = 50, seed: int = 0) -> float:
        """Fraction of (probed) training start frames that have at least one candidate."""
        rng = np.random.default_rng(seed)
        takes = list(self.data.items())
        hits = 0
        for _ in range(n_probe):
            s, a, seq = takes[rng.integers(len(takes))]
            hits += len(self.candidates(s, a, int(rng.integers(seq.shape[0] - self.cfg.t_total + 1)))) > 0
        return hits / n_probe


def load_or_build_pool(cfg: Config, data: MotionData | None = None, log=print) -> CandidatePool | AuthorsPool:
    """The authors' pool and index when they are in the data folder (``data/authors.py``); otherwise ours, built
    and cached as ``candidates_t_his*_t_pred*_skiprate*.npz`` in the derived folder."""
    data = data or load_split(cfg, "train")
    authors = load_authors_pool(cfg, data)
    if authors is not None:
        log(f"candidate pool and multimodal index: the authors' files {pool_file(cfg)}, {index_file(cfg)}")
        return authors
    root = cfg.resolved_derived_dir()
    fp_pool = _fingerprint(cfg, cfg.t_his, cfg.t_pred, cfg.pool_stride)
    pool_path = root / _pool_name(cfg)
    with cache_lock(root):
        dirs = _read_pool_cache(pool_path, fp_pool, (cfg.t_total, data.layout.n_nodes, 3), log)
        if dirs is None:
            log(f"building candidate pool -> {pool_path}")
            dirs = build_pool(data, cfg)
            write_atomic(pool_path, lambda f: np.savez(f, data_candidate=dirs, fingerprint=np.array(fp_pool)))
    return CandidatePool(data, dirs, cfg)


def angle_names(dataset: str) -> list[str]:
    """The angles the valid-angle loss measures on ``dataset`` (the keys a bounds file may hold)."""
    from diverse_sampling.data.kinematics import ANGLE_FUNCTIONS

    poses = torch.randn(1, 1, get_layout(dataset).n_nodes, 3, dtype=torch.float64)
    return list(ANGLE_FUNCTIONS[dataset](poses))


def _check_angle_names(bounds: dict[str, list[float]], cfg: Config) -> dict[str, list[float]]:
    """A bounds file given as valid_angle_file must name the data set's angles: an empty file or one of another
    skeleton would turn the w_angle term off without a word."""
    known = angle_names(cfg.dataset)
    unknown = sorted(set(bounds) - set(known))
    if unknown or not bounds:
        what = f"angle {unknown[0]!r} is not one of" if unknown else "holds no angle; expected some of"
        raise DataFormatError(f"{cfg.valid_angle_file}: {what} the {len(known)} {cfg.dataset} angles "
                              f"({', '.join(known)})")
    return bounds


def load_or_build_valid_angles(cfg: Config, data: MotionData | None = None, log=print) -> dict[str, list[float]]:
    """Valid-angle bounds: ``cfg.valid_angle_file`` if given (the authors' ``.p`` or a JSON of the same dict), else
    the authors' ``<data_root>/<dataset>_valid_angle.p`` when present, else computed from the training data and
    cached."""
    if cfg.valid_angle_file:
        return _check_angle_names(read_valid_angles(cfg.valid_angle_file), cfg)
    if cfg.use_authors_files and authors_valid_angle_file(cfg).is_file():
        log(f"valid-angle bounds: the authors' file {authors_valid_angle_file(cfg)}")
        return read_valid_angles(authors_valid_angle_file(cfg))
    root = cfg.resolved_derived_dir()
    path = root / f"{cfg.dataset}_valid_angle.json"
    fp = _fingerprint(cfg)
    with cache_lock(root):
        bounds = _read_angle_cache(path, fp, log)
        if bounds is None:
            data = data or load_split(cfg, "train")
            log(f"computing valid-angle bounds from the training data -> {path}")
            bounds = valid_angle_bounds(cfg.dataset, data.all_frames())
            text = json.dumps({"fingerprint": fp, "bounds": bounds}, indent=1)
            write_atomic(path, lambda f: f.write(text.encode()))
    return bounds


def _read_pool_cache(path: Path, fingerprint: str, shape: tuple, log) -> np.ndarray | None:
    """Our cached pool (N, *shape) if it is current and intact; None (to rebuild) when absent, stale or damaged."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["fingerprint"]) != fingerprint:
                return None
            dirs = z["data_candidate"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log(f"{path}: damaged cache ({type(exc).__name__}: {str(exc)[:80]}); rebuilding it")
        return None
    if dirs.dtype.kind != "f" or dirs.shape[1:] != shape or not np.isfinite(dirs).all():
        log(f"{path}: damaged cache (shape {dirs.shape} {dirs.dtype}, or not finite); rebuilding it")
        return None
    return dirs


def _read_angle_cache(path: Path, fingerprint: str, log) -> dict[str, list[float]] | None:
    """Our cached valid-angle bounds if current and intact; None (to rebuild) when absent, stale or damaged."""
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_bytes().decode("utf-8"))
        if stored.get("fingerprint") != fingerprint:
            return None
        return checked_bounds(stored["bounds"], path)
    except (OSError, ValueError, KeyError, AttributeError, TypeError, DataFormatError) as exc:
        log(f"{path}: damaged cache ({type(exc).__name__}: {str(exc)[:80]}); rebuilding it")
        return None


@contextlib.contextmanager
def cache_lock(root: Path) -> Iterator[None]:
    """Hold ``<root>/.lock`` while reading or building a cache there: two runs sharing the derived folder never
    build the same file at once (the second waits, then reads the first one's file). Temporary files found under
    the lock were left by a writer killed mid-write, and are removed."""
    if root.exists() and not root.is_dir():
        raise ConfigError(f"derived_dir {root}: is a file; name a folder for the candidate pool and angle caches")
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            for stale in root.glob(".*.tmp"):
                stale.unlink(missing_ok=True)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
