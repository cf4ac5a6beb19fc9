"""Dataset ids of the original (``h3m_consistent_scaled_c1_10fps`` ...) -> lists of ready-to-use sequences.

An id reads ``<source>[_s14]_[consistent_]scaled_c1[_10fps]`` (apo_tf.md §3):

- source ``h3m`` (file ``<data_root>/h3m.hdf5`` or ``$H3M_DATA``), ``synth`` / ``synth_tiny`` (generated on first
  use into ``<data_root>/<source>.hdf5``), ``eva`` (``<data_root>/eva.hdf5``, see :mod:`apo_tf.data.eva`);
- ``s14`` converts to the 14-joint skeleton (s24 otherwise; eva is always s14);
- ``consistent``: refit the camera, then recompute camera-frame 3D and 2D from it (distortion-free 2D). Without
  it the file's own 2D is used (the original's ``h3m_s14_*`` quirk: those are built from the base data);
- ``scaled``: mm -> m, pixels -> kilo-pixels; ``c1``: camera index 1 of the sorted camera ids (55011271 for
  H3.6M); ``10fps``: every 5th frame.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from apo_tf.data import eva, h3m, synthetic
from apo_tf.data.cameras import Camera, fit_extrinsics, fit_intrinsics, project_camera_points
from motionkit.errors import ConfigError, DataFormatError
from motionkit.skeletons import get_skeleton

_ID = re.compile(r"^(h3m|synth_tiny|synth|eva)(_s14)?_(consistent_)?scaled_c(\d+)(_10fps)?$")


@dataclass
class Sequence:
    """One example: a subject x sequence x camera, in scaled units (m, kilo-pixels)."""

    key: str  # results-file key, e.g. "subjects__S9__sequences__Walking 1__views__55011271"
    subject: str
    name: str
    category: str
    camera_id: str
    fps: float
    p3w: np.ndarray  # (T, J, 3) world, m
    p2: np.ndarray  # (T, J, 2) kilo-pixels
    camera: Camera  # R, t (m), f, c (kilo-pixels)
    skeleton: str  # motionkit skeleton name: apo_s24 | apo_s14


@dataclass
class DatasetId:
    source: str
    s14: bool
    consistent: bool
    camera_index: int
    fps10: bool

    @property
    def skeleton(self) -> str:
        return "apo_s14" if self.s14 or self.source == "eva" else "apo_s24"


def parse_id(dataset_id: str) -> DatasetId:
    m = _ID.match(dataset_id)
    if not m:
        raise ConfigError(f"unknown dataset id {dataset_id!r} (expected <h3m|synth|synth_tiny|eva>[_s14]_"
                          "[consistent_]scaled_c<k>[_10fps])")
    src, s14, cons, cam, fps10 = m.groups()
    return DatasetId(src, bool(s14), bool(cons), int(cam), bool(fps10))


def data_file(source: str, data_root: str | Path) -> Path:
    """Where a source's hdf5 lives; the synthetic ones are generated here on first use."""
    root = Path(data_root)
    if root.exists() and not root.is_dir():
        raise DataFormatError(f"{root}: the data root is a file, not a folder (data_root / --data_root)")
    if source == "h3m":
        return Path(os.environ.get("H3M_DATA") or root / "h3m.hdf5")
    if source == "eva":
        return Path(os.environ.get("EVA_DATA") or root / "eva.hdf5")
    path = root / f"{source}.hdf5"
    if not path.exists():
        synthetic.write(path, size=source, seed=0)
    return path


def s24_to_s14(p: np.ndarray) -> np.ndarray:
    """Gather s24 (..., 24, C) -> s14 (..., 14, C) by name; s14 ``head`` is s24 ``head_back`` (apo_tf.md §3.2)."""
    s24, s14 = get_skeleton("apo_s24"), get_skeleton("apo_s14")
    idx = [s24.index("head_back" if n == "head" else n) for n in s14.joints]
    return p[..., idx, :]


def raw_to_skeleton(p: np.ndarray, skeleton: str, source: str = "h36m_32") -> np.ndarray:
    """H3.6M joints (..., 32, C) raw or (..., 24, C) s24 (``source``) -> ``skeleton`` (apo_s24 or apo_s14)."""
    p24 = p if source == "apo_s24" else get_skeleton("h36m_32").convert(p, "apo_s24")
    return s24_to_s14(p24) if skeleton == "apo_s14" else p24


def load(dataset_id: str, split: str, data_root: str | Path, eva_split: str = "original") -> list[Sequence]:
    """All sequences of ``split`` ("train" or "eval") of a dataset id, one per (subject, sequence) for camera c<k>.

    ``eva_split`` (HumanEva only): "original" (the frozen code: trial 1 whole in both splits) or "intended".
    """
    did = parse_id(dataset_id)
    path = data_file(did.source, data_root)
    try:
        if did.source == "eva":
            raws = eva.read_split(path, split, faithful=eva_split == "original")
        else:
            subjects = h3m.TRAIN_SUBJECTS if split == "train" else h3m.EVAL_SUBJECTS
            raws = h3m.read_sequences(path, subjects)
    except DataFormatError as e:
        if did.source.startswith("synth"):  # a generated cache: say how to get a good one back
            raise DataFormatError(f"{e} (a generated data set: delete it and the next run writes it again)") from None
        raise
    out = []
    for raw in raws:
        _check_not_degenerate(path, raw)
        cams = sorted(raw.views)
        if did.camera_index >= len(cams):
            raise DataFormatError(f"{path}: {raw.subject}/{raw.name} has {len(cams)} views, no camera index "
                                  f"{did.camera_index}")
        view = raw.views[cams[did.camera_index]]
        to_skel = eva.raw_to_s14 if did.source == "eva" else (
            lambda p, src=raw.skeleton: raw_to_skeleton(p, did.skeleton, src))
        p3w, p3c, p2 = to_skel(raw.p3), to_skel(view.p3), to_skel(view.p2)
        # the original fits the camera from the data: f, c per axis, then R, t by orthogonal Procrustes
        f, c = fit_intrinsics(p3c, p2)
        R, t = fit_extrinsics(p3w, p3c)
        camera = Camera(R, t, f, c)
        if did.consistent:
            p2 = project_camera_points(camera.world_to_camera(p3w), f, c)
        step = 5 if did.fps10 else 1
        camera = camera.scaled(1000.0, 1000.0)
        key = (f"{raw.subject}_{raw.name}_{view.camera_id}_eval" if did.source == "eva"
               else f"subjects__{raw.subject}__sequences__{raw.name}__views__{view.camera_id}")
        cat = eva.category(raw.name) if did.source == "eva" else h3m.category(raw.name)
        out.append(Sequence(key, raw.subject, raw.name, cat, view.camera_id, raw.fps / step,
                            (p3w[::step] / 1000.0).astype(np.float32), (p2[::step] / 1000.0).astype(np.float32),
                            camera, did.skeleton))
    return out


def _check_not_degenerate(path: Path, raw) -> None:
    """One line naming the first frame whose joints all sit at one point (an all-zero pose): no height, no camera
    fit, no normalisation can come from it."""
    flat = np.ptp(raw.p3, axis=-2).max(-1) <= 0
    if flat.any():
        raise DataFormatError(f"{path}: {raw.subject}/{raw.name} frame {int(np.argmax(flat))}: every joint at one "
                              "point (a degenerate pose)")


def _register_datasets() -> None:
    """apo_tf's data sets in motionkit's catalogue (name -> reader, synthetic writer, how to get the file)."""
    from motionkit.datasets.registry import DatasetSpec, register

    register(DatasetSpec(
        name="apo-h3m", description="Human3.6M poses as human_pose_util's data.hdf5 (24 s24 joints, int32) or "
        "with all 32 raw joints, for apo_tf's h3m_* ids", homepage="http://vision.imar.ro/human3.6m/",
        licence="academic licence; no redistribution", redistributable=False,
        loader=lambda root: load("h3m_consistent_scaled_c1", "train", root),
        citation="Ionescu et al. Human3.6M. TPAMI 2014.",
        how_to_get="register at vision.imar.ro, download the pose archives (D2/D3 positions), then "
                   "`python -m apo_tf.main convert-h3m <folder>` writes <log-dir>/apo_tf/data/h3m.hdf5"), replace=True)
    register(DatasetSpec(
        name="apo-eva", description="HumanEva-I converted to apo_tf's eva.hdf5 (s20 joints, trial-1 split attrs)",
        homepage="http://humaneva.is.tue.mpg.de/", licence="registration; no redistribution",
        redistributable=False, loader=lambda root: load("eva_s14_scaled_c1", "train", root),
        citation="Sigal, Balan, Black. HumanEva. IJCV 2010.",
        how_to_get="register at humaneva.is.tue.mpg.de; write eva.hdf5 in the layout of apo_tf.data.eva"),
        replace=True)
    for size in ("synth", "synth_tiny"):
        register(DatasetSpec(
            name=f"apo-{size}", description=f"apo_tf's synthetic stand-in ({size}) in the converted-H3.6M layout",
            homepage="", licence="the project's own (generated)", redistributable=True,
            loader=lambda root, s=size: load(f"{s}_consistent_scaled_c1", "train", root),
            how_to_get=f"generated on first use, or `python -m apo_tf.main make-data {size}`",
            extra={"writer": lambda path, s=size: synthetic.write(path, s)}), replace=True)


_register_datasets()
