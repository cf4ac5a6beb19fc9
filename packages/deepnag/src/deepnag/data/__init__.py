"""Data: readers of the real formats, synthetic stand-ins written in those formats, preprocessing, batching.

Importing this package registers deepnag's data sets in motionkit's registry (data/registry.py):
  dollar-gds, synthetic-pen       -> load_dollar_gds(root)   ($1 XML logs; synthetic writer write_synthetic_pen)
  jk2017-kinect, synthetic-kinect -> load_jk2017(root)       (JK2017 text; synthetic writer write_synthetic_kinect)
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deepnag.data.dollar import DOLLAR_CLASSES, load_dollar_gds, read_dollar_xml, write_dollar_xml
from deepnag.data.gestures import GestureSet
from deepnag.data.jk2017 import JK2017_CLASSES, display_name, load_jk2017, read_jk2017_file, write_jk2017_file
from deepnag.data.preprocess import MinMaxNormalizer, resample_path
from deepnag.data.registry import register_datasets
from deepnag.data.synthetic_kinect import write_synthetic_kinect
from deepnag.data.synthetic_pen import write_synthetic_pen
from motionkit.errors import DataFormatError, DatasetMissingError, MotionzooError
from motionkit.tempfiles import remove_stale_temporaries

__all__ = [
    "DOLLAR_CLASSES", "JK2017_CLASSES", "GestureSet", "MinMaxNormalizer", "PreparedData", "display_name",
    "load_dollar_gds", "load_gesture_set", "load_jk2017", "pick_partners", "prepare", "read_dollar_xml",
    "read_jk2017_file", "resample_path", "write_dollar_xml", "write_jk2017_file", "epoch_batches",
    "write_synthetic_kinect", "write_synthetic_pen",
]

register_datasets()

SYNTHETIC_VERSION = 1  # bump when a generator changes, so cached synthetic sets are rewritten


def _synthetic_root(cfg) -> Path:
    if cfg.data_root:
        return Path(cfg.data_root)
    tag = (f"{cfg.dataset}-v{SYNTHETIC_VERSION}-s{cfg.synthetic_subjects}-r{cfg.synthetic_repetitions}"
           f"-seed{cfg.synthetic_seed}")
    return Path(cfg.log_dir) / "deepnag" / "_synthetic" / tag


def ensure_synthetic(cfg) -> Path:
    """Write the synthetic data set once (in the real file format) and return its root folder.

    The cache under `<log_dir>/deepnag/_synthetic/` is owned by this function: a set is written whole into a
    temporary sibling `.<name>.<pid>.tmp/` and renamed into place, so no reader sees half a set (a killed
    writer, two runs starting at once); a folder whose GENERATED.json stamp is missing, unreadable or for other
    parameters is replaced, and temporary folders of writers that no longer run are removed. With --data-root
    the set is written into that folder in place (the user's folder: nothing in it is deleted).
    """
    root = _synthetic_root(cfg)
    params = {"dataset": cfg.dataset, "version": SYNTHETIC_VERSION, "subjects": cfg.synthetic_subjects,
              "repetitions": cfg.synthetic_repetitions, "seed": cfg.synthetic_seed}
    if _stamp_matches(root, params):
        return root
    if cfg.data_root:
        _check_folder(root)
        return _write_synthetic(cfg, root, params, root)
    root.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(root)
    tmp = root.parent / f".{root.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _publish(_write_synthetic(cfg, tmp, params, root), root, params)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def _write_synthetic(cfg, folder: Path, params: dict, root: Path) -> Path:
    """The set into `folder`, its GENERATED.json stamp last; a full disk is one line naming `root`."""
    writer = write_synthetic_pen if cfg.dataset == "synthetic-pen" else write_synthetic_kinect
    try:
        writer(folder, cfg.synthetic_subjects, cfg.synthetic_repetitions, cfg.synthetic_seed)
        (folder / "GENERATED.json").write_text(json.dumps(params), encoding="utf-8")
    except OSError as exc:  # a write error carries no file name of its own
        raise MotionzooError(f"{root}: cannot write the synthetic data set ({exc.strerror or exc}; is the disk "
                             "full?); nothing of it is used") from None
    return folder


def _publish(tmp: Path, root: Path, params: dict) -> None:
    """Rename the finished set `tmp` to `root`, replacing a stale or damaged set there (the cache is ours)."""
    try:
        if root.exists() and not _stamp_matches(root, params):
            stale = root.parent / f".{root.name}.{os.getpid()}.old.tmp"
            os.rename(root, stale)
            shutil.rmtree(stale, ignore_errors=True)
        if not root.exists():
            os.rename(tmp, root)
    except OSError:
        if not _stamp_matches(root, params):  # not another run that put a good set there first
            raise


def _stamp_matches(root: Path, params: dict) -> bool:
    """True when root/GENERATED.json says the set was written whole with these parameters."""
    try:
        return json.loads((root / "GENERATED.json").read_text(encoding="utf-8")) == params
    except (OSError, UnicodeDecodeError, ValueError):  # missing, a folder, not UTF-8, not JSON
        return False


def real_data_root(cfg) -> Path | None:
    """Where a real data set is read from: --data-root (must exist), else the original's layout under
    --datapath (`<datapath>/dollar_gds`, `<datapath>/jk2017`) when that folder exists, else None (download)."""
    from deepnag.config import DATAPATH_SUBDIRS

    if cfg.data_root:
        root = Path(cfg.data_root)
        if not root.exists():
            raise DatasetMissingError(f"{root}: --data-root does not exist")
        _check_folder(root)
        return root
    original = Path(cfg.datapath) / DATAPATH_SUBDIRS[cfg.dataset]
    for path in (Path(cfg.datapath), original):  # a file there would be passed over for a download
        if path.exists() and not path.is_dir():
            raise DatasetMissingError(f"{path}: --datapath names a file, not a folder holding "
                                      f"{DATAPATH_SUBDIRS[cfg.dataset]}/ (unpack the data set there)")
    return original if original.is_dir() else None


def _check_folder(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise DatasetMissingError(f"{root}: --data-root is a file, not the data set's folder (unpack it first)")


def load_gesture_set(cfg) -> GestureSet:
    """The raw data set named by cfg.dataset, read through the real loaders (synthetic ones are written first)."""
    if cfg.dataset.startswith("synthetic-"):
        root = ensure_synthetic(cfg)
        gs = load_dollar_gds(root) if cfg.dataset == "synthetic-pen" else load_jk2017(root)
    else:
        root = real_data_root(cfg)
        if root is None:  # download (once) from the public location registered in motionkit, checked by its manifest
            from motionkit.datasets import fetch

            root = fetch(cfg.dataset)
        gs = load_dollar_gds(root, speed=cfg.dollar_speed) if cfg.dataset == "dollar-gds" else load_jk2017(root)
    missing = [name for c, name in enumerate(gs.class_names) if not (gs.labels == c).any()]
    if missing:  # every class is generated, rendered beside a real sample and measured against real ones
        raise DataFormatError(f"{root}: no {cfg.dataset} samples of {', '.join(map(repr, missing[:3]))}"
                              f"{' ...' if len(missing) > 3 else ''} ({len(missing)} of {gs.n_classes} classes "
                              "missing); deepnag needs every class")
    return gs


@dataclass
class PreparedData:
    """Training tensors: x (N, resample_n, F) normalised to [-1, 1] and resampled; labels (N,)."""

    x: torch.Tensor
    labels: torch.Tensor
    normalizer: MinMaxNormalizer
    class_names: list[str]
    subjects: list[str]
    kind: str

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def n_features(self) -> int:
        return int(self.x.shape[-1])


def prepare(gs: GestureSet, resample_n: int, normalizer: MinMaxNormalizer | None = None) -> PreparedData:
    """§3.3: global per-feature min-max to [-1, 1] (fitted on all frames), then $1 resampling to N points."""
    normalizer = normalizer or MinMaxNormalizer.fit(gs.sequences)
    x = np.stack([resample_path(normalizer.normalize(s), resample_n) for s in gs.sequences])
    return PreparedData(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(gs.labels, dtype=torch.long),
                        normalizer, list(gs.class_names), list(gs.subjects), gs.kind)


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> list:
    """Index batches of one epoch: a permutation seeded by (seed, epoch), split across DDP ranks, last batch kept.

    Depends only on its arguments, so a resumed run sees exactly the batches an uninterrupted one would.
    """
    perm = np.random.default_rng([seed, epoch]).permutation(n)
    per_rank = perm[rank::world_size]
    return [per_rank[i:i + batch_size] for i in range(0, len(per_rank), batch_size)]


def pick_partners(batch_idx: np.ndarray, labels: np.ndarray, rng: random.Random) -> np.ndarray:
    """`real2` of §1.2: for each element of the batch, a different training sample of the same class.

    Without repeats inside the batch while the class has unused samples; then repeats are allowed. A class
    with a single sample pairs it with itself.
    """
    labels = np.asarray(labels)
    used: dict[int, set] = {}
    out = np.empty(len(batch_idx), dtype=np.int64)
    for k, i in enumerate(batch_idx):
        c = int(labels[i])
        pool = np.flatnonzero(labels == c)
        taken = used.setdefault(c, set())
        candidates = [int(j) for j in pool if j != i and j not in taken]
        if not candidates:
            candidates = [int(j) for j in pool if j != i] or [int(i)]
        j = rng.choice(candidates)
        taken.add(j)
        out[k] = j
    return out
