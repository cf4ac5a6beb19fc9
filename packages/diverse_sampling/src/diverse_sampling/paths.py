"""Where the checkpoints a job needs are found: a file, the latest run of a name, or the original's ``ckpt/``.

``t1_checkpoint`` (the CVAE under a t2 sampler) and ``classifier_checkpoint`` (FID/ACC) accept a ``.pt``/``.pth``
path or a run name (its latest run folder's ``last.pt``); empty means the original's released file when it is
in ``./ckpt/`` (the authors' layout), else the latest run named ``<dataset>_t1`` / ``<dataset>_classifier``.
"""

from __future__ import annotations

from pathlib import Path

from diverse_sampling import compat
from diverse_sampling.config import PACKAGE, Config
from motionkit.errors import CheckpointError
from motionkit.runfolder import latest_run_dir


def latest_run_checkpoint(cfg: Config, name: str) -> Path | None:
    """``last.pt`` of the latest run folder called ``name`` (``name``, ``name-2``, ...), or None."""
    folder = latest_run_dir(cfg.log_dir, PACKAGE, name)
    if folder is None:
        return None
    path = folder / "last.pt"
    return path if path.is_file() else None


def _resolve(cfg: Config, value: str, released: Path, run_name: str, what: str,
             required: bool = True) -> Path | None:
    if value:
        if Path(value).is_dir() and value.endswith((".pt", ".pth")):
            raise CheckpointError(f"{value}: is a folder, not a {what} checkpoint file")
        if value.endswith((".pt", ".pth")) or Path(value).is_file():
            if not Path(value).is_file():
                raise CheckpointError(f"{value}: {what} checkpoint not found")
            return Path(value)
        found = latest_run_checkpoint(cfg, value)
        if found is None and required:
            raise CheckpointError(f"{what} {value!r}: no file of that name and no finished run under "
                                  f"{cfg.runs_root()}")
        return found
    if released.is_file():
        return released
    return latest_run_checkpoint(cfg, run_name)


def t1_checkpoint(cfg: Config, beside: str | Path | None = None) -> Path:
    """The CVAE a t2 sampler decodes with. ``beside``: a released t2 file, whose ``<dataset>_t1.pth`` sibling is
    preferred when ``t1_checkpoint`` is empty (the authors ship both in ``ckpt/pretrained``)."""
    released = compat.pretrained_path(f"{cfg.dataset}_t1")
    if beside is not None and not cfg.t1_checkpoint and compat.released_t1_beside(beside, cfg.dataset).is_file():
        released = compat.released_t1_beside(beside, cfg.dataset)
    path = _resolve(cfg, cfg.t1_checkpoint, released, f"{cfg.dataset}_t1", "t1")
    if path is None:
        raise CheckpointError(f"no t1 CVAE: neither {released} nor a run {cfg.dataset}_t1 under {cfg.runs_root()}; "
                              f"train t1 first (--exp_name={cfg.dataset}_t1 --is_train=1) or set --t1_checkpoint")
    return path


def classifier_checkpoint(cfg: Config) -> Path | None:
    """The FID/ACC classifier, or None when there is none, also when its run is not trained yet (FID/ACC are then
    skipped); a named file that does not exist is an error."""
    return _resolve(cfg, cfg.classifier_checkpoint, compat.released_classifier_path(cfg.dataset),
                    f"{cfg.dataset}_classifier", "classifier", required=False)


def classifier_run_name(cfg: Config) -> str:
    """The run a ``train-classifier`` job writes: ``classifier_checkpoint`` when it is a run name."""
    value = cfg.classifier_checkpoint
    if value and not value.endswith((".pt", ".pth")) and not Path(value).is_file():
        return value
    return f"{cfg.dataset}_classifier"
