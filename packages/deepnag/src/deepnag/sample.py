"""Generated gestures as files other tools read: arrays and the data set's own format.

`python -m deepnag.main sample CHECKPOINT --num-samples N --out DIR` writes, for N gestures per class:

* `DIR/samples.npz`: `x` (C*N, T, F) float32 un-normalised, in the data set's units ($1 pen: pixels, y down;
  Kinect: metres, camera space, 21 joints x xyz flattened joint-major), `labels` (C*N,) class indices,
  `class_names`, `dataset`;
* the data set's own file format, readable by its readers (ours: deepnag.data.load_dollar_gds / load_jk2017;
  and the original's, Jackknife's and $1's):
  - pen: `DIR/xml_logs/synthetic/medium/<gesture><NN>.xml` ($1 XML logs; integer pixels; the generator has no
    timing, so T advances a nominal 10 ms per point);
  - Kinect: `DIR/training/Sub_Synthetic/<gesture>/ex_<k>.txt` (JK2017 text, one frame per generated point).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from deepnag.compat import config_from_checkpoint
from deepnag.data import MinMaxNormalizer, write_dollar_xml, write_jk2017_file
from deepnag.models import load_generator
from deepnag.render import generate
from motionkit.errors import ConfigError, MotionzooError

MAX_SAMPLE_BYTES = 4 * 2**30  # generated gestures held in memory at once by one `sample` call
NOMINAL_MS_PER_POINT = 10  # $1 logs carry a time stamp per point; generated gestures have none


def sample(checkpoint: str | Path, n_per_class: int, out_dir: str | Path, overrides: dict | None = None,
           formats: tuple[str, ...] = ("npz", "native")) -> list[Path]:
    """Write n_per_class generated gestures per class (see the module docstring); returns the written paths."""
    from motionkit.training.device import resolve_device

    overrides = overrides or {}
    G, extra = load_generator(checkpoint, resolve_device(overrides.get("device")), dataset=overrides.get("dataset"),
                              resample_n=overrides.get("resample_n"))
    G = G.cpu()  # latents are drawn on the CPU (the same samples on every device)
    cfg = config_from_checkpoint(extra["config"], overrides, checkpoint)
    names = list(extra["class_names"])
    size = n_per_class * len(names) * cfg.resample_n * int(extra["n_features"]) * 4
    if size > MAX_SAMPLE_BYTES:  # generated at once: an out-of-memory kill would say nothing
        raise ConfigError(f"sample: --num-samples {n_per_class} x {len(names)} classes would hold {size / 2**30:.1f} "
                          f"GiB of gestures (limit {MAX_SAMPLE_BYTES // 2**30} GiB); write them in parts with fewer "
                          "--num-samples and another --eval-seed per part")
    labels = np.repeat(np.arange(len(names)), n_per_class)
    normalizer = MinMaxNormalizer.from_state_dict(extra["normalizer"])
    x = normalizer.unnormalize(generate(G, labels, cfg.resample_n, cfg.eval_seed)).astype(np.float32)
    out_dir = Path(out_dir)
    kind = extra.get("kind", "pen" if x.shape[-1] == 2 else "kinect")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        if "npz" in formats:
            written.append(_write_npz(out_dir / "samples.npz", x=x, labels=labels, class_names=np.asarray(names),
                                      dataset=cfg.dataset))
        if "native" in formats:
            written.append((_write_pen if kind == "pen" else _write_kinect)(out_dir, x, labels, names))
    except OSError as exc:  # a full disk: a write error carries no file name of its own
        raise MotionzooError(f"{out_dir}: cannot write the samples ({exc.strerror or exc}; is the disk full?); "
                             "samples.npz is whole or absent, native files may be incomplete") from None
    return written


def _write_npz(path: Path, **arrays) -> Path:
    """np.savez to a temporary sibling renamed over `path`: never half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_pen(out_dir: Path, x: np.ndarray, labels: np.ndarray, names: list[str]) -> Path:
    """$1 XML logs under out_dir/xml_logs/synthetic/medium/ (read back by load_dollar_gds(out_dir))."""
    folder = out_dir / "xml_logs" / "synthetic" / "medium"
    counts: dict[int, int] = {}
    for seq, label in zip(x, labels):
        k = counts[int(label)] = counts.get(int(label), 0) + 1
        t = np.arange(len(seq)) * NOMINAL_MS_PER_POINT
        points = np.concatenate([np.round(seq), t[:, None]], axis=1)
        name = f"{names[label]}{k:02d}"
        write_dollar_xml(folder / f"{name}.xml", name, 0, "medium", k, points)
    return folder


def _write_kinect(out_dir: Path, x: np.ndarray, labels: np.ndarray, names: list[str]) -> Path:
    """JK2017 text files under out_dir/training/Sub_Synthetic/<gesture>/ (read back by load_jk2017(out_dir))."""
    folder = out_dir / "training" / "Sub_Synthetic"
    counts: dict[int, int] = {}
    for seq, label in zip(x, labels):
        k = counts[int(label)] = counts.get(int(label), 0) + 1
        write_jk2017_file(folder / names[label] / f"ex_{k}.txt", names[label], seq.reshape(len(seq), -1, 3))
    return folder
