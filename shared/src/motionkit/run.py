"""One run lifecycle for every PyTorch training entry point.

::

    with start_run(cfg, package="deepnag", run_name="DeepNAG-synthetic-kinect", resume=args.resume,
                   device=cfg.device, seed=cfg.seed) as run:
        model = build_model(cfg).to(run.device)
        start, extra = run.checkpointer.resume({"model": model, "optimizer": opt}, map_location=run.device)
        run.check_not_finished(start, cfg.epochs)
        for epoch in range(start, cfg.epochs):
            ...
            run.logger.log(epoch + 1, loss=loss)
            run.checkpointer.save(epoch + 1, modules)

``start_run`` joins the process group when launched by ``torchrun`` (a plain run is a world of one), picks the
run folder on rank 0 and tells the other ranks (a new folder per invocation unless resuming; see
:mod:`motionkit.runfolder`), locks it, seeds every RNG with ``seed + rank``, prints the resolved config and
saves it as ``config.yaml`` (a resume logs every changed key), and opens the logger (console and tqdm on rank 0,
``metrics.jsonl``, TensorBoard with ``use_tensorboard``). Whatever happens inside the block, the logger is
closed, the folder's status recorded and unlocked, and the process group torn down.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import yaml

from motionkit.config import config_to_dict, field_default, format_config, save_config
from motionkit.errors import ConfigError
from motionkit.runfolder import RunFolder, check_not_finished, config_changes, open_run_folder, resolve_run_dir
from motionkit.training.checkpoint import Checkpointer
from motionkit.training.ddp import DistEnv, cleanup, init_distributed
from motionkit.training.runlog import RunLogger
from motionkit.training.seed import seed_everything

__all__ = ["Run", "start_run"]


@dataclass
class Run:
    """What a training loop needs from its run: where to write, on which device, how to log and checkpoint."""

    dir: Path
    env: DistEnv
    logger: RunLogger
    checkpointer: Checkpointer
    resuming: bool
    config_changes: dict[str, tuple[Any, Any]]

    @property
    def device(self) -> torch.device:
        return self.env.device

    @property
    def is_main(self) -> bool:
        return self.env.is_main

    def check_not_finished(self, done: int, total: int, unit: str = "epoch", flag: str = "--epochs") -> None:
        """A resumed run that is already at ``total`` is a one-line error saying how to extend it."""
        if self.resuming:
            check_not_finished(self.dir, done, total, unit, flag)


@contextlib.contextmanager
def start_run(
    cfg: Any,
    *,
    package: str,
    run_name: str,
    log_root: str | Path = "runs",
    resume: str | None = None,
    device: str | None = None,
    seed: int = 0,
    use_tensorboard: bool = False,
    deterministic: bool = True,
    mutable_on_resume: Iterable[str] | None = None,
    keep_last: int | None = 2,
) -> Iterator[Run]:
    """Open a run (see the module docstring) and yield it; everything is closed when the block ends.

    Args:
        cfg: the package's config dataclass (printed, saved as ``config.yaml``).
        package, run_name, log_root: the folder is ``<log_root>/<package>/<run_name>`` (``-2``, ``-3`` ... for
            later runs of the same name).
        resume: None for a new run; ``""`` for the latest run called ``run_name``; a run name or folder path.
        device: ``cpu``, ``cuda``, ``cuda:1``, or ``""``/None for CUDA when available.
        seed: every rank seeds with ``seed + rank``.
        mutable_on_resume: None: any config change on resume is applied and logged. A set of field names: a
            change to any other field is a one-line :class:`ConfigError` (the weights would not match it).
        keep_last: numbered checkpoints kept (None or 0: all).
    """
    if abs(int(seed)) >= 2**62:  # torch and numpy seeds end near 2**64; checked before any folder is made
        raise ConfigError(f"--seed {seed}: out of range (use a whole number below 2**62 in magnitude)")
    env = init_distributed(device=device)
    folder: RunFolder | None = None
    logger: RunLogger | None = None
    saved_record: str | None = None
    started_ns = time.time_ns()
    status = "failed"
    try:
        run_dir, resuming = _agree_on_folder(env, log_root, package, run_name, resume)
        if env.is_main:
            folder = open_run_folder(run_dir, resuming)
        changes = _check_config(cfg, run_dir, resuming, mutable_on_resume)
        seed_everything(seed + env.rank, deterministic=deterministic)
        logger = RunLogger(run_dir, use_tensorboard=use_tensorboard, enabled=env.is_main)
        logger.info(format_config(cfg))
        verb = "resuming" if resuming else "new run"
        logger.info(f"{verb}: {run_dir}" + (f" ({env.world_size} processes)" if env.enabled else ""))
        for key, (old, new) in changes.items():
            logger.info(f"changed since the saved run: {key}: {old!r} -> {new!r}")
        if env.is_main:
            saved_record = _read_record(run_dir / "config.yaml") if changes else None
            save_config(cfg, run_dir / "config.yaml")
        run = Run(run_dir, env, logger, Checkpointer(run_dir, keep_last=keep_last, enabled=env.is_main),
                  resuming, changes)
        yield run
        status = "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        if logger is not None:
            logger.close()
        unchanged = status != "finished" and folder is not None and not _wrote_checkpoints(folder.path, started_ns)
        if unchanged and saved_record is not None:
            _write_record(folder.path / "config.yaml", saved_record)  # nothing was trained with the new settings
        if folder is not None:
            folder.close(status, keep_previous=unchanged and folder.resuming)
        cleanup(env)


def _read_record(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _wrote_checkpoints(run_dir: Path, since_ns: int) -> bool:
    return any(p.stat().st_mtime_ns >= since_ns for p in run_dir.rglob("*.pt") if p.is_file())


def _write_record(path: Path, text: str) -> None:
    """Put back the saved ``config.yaml`` of a resume that failed before its first checkpoint, so the record
    keeps matching the weights in ``last.pt`` (e.g. after a diverging ``--lr``)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _agree_on_folder(env: DistEnv, log_root, package: str, run_name: str, resume: str | None) -> tuple[Path, bool]:
    """Rank 0 resolves (and for a new run creates) the folder; under DDP the other ranks receive its path."""
    box: list[Any] = [None]
    error: str | None = None
    if env.is_main:
        try:
            box[0] = resolve_run_dir(log_root, package, run_name, resume)
        except ConfigError as exc:
            error = str(exc)
    if env.enabled:
        shared = [box[0], error]
        dist.broadcast_object_list(shared, src=0)
        box[0], error = shared
    if error is not None:
        raise ConfigError(error)
    path, resuming = box[0]
    return Path(path), bool(resuming)


def _default_dict(cfg: Any) -> dict[str, Any]:
    """The config class's default values, in the form ``config_to_dict`` gives (tuples as lists)."""
    out = {}
    for f in dataclasses.fields(cfg):
        value = field_default(f)
        if value is not dataclasses.MISSING:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _check_config(cfg: Any, run_dir: Path, resuming: bool, mutable: Iterable[str] | None) -> dict:
    """On resume: the keys that differ from the saved ``config.yaml``; refused when outside ``mutable``."""
    saved_path = run_dir / "config.yaml"
    if not resuming or not saved_path.is_file():
        return {}
    try:
        saved = yaml.safe_load(saved_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{saved_path}: not UTF-8 text; cannot compare the resumed run's config") from None
    except yaml.YAMLError:
        raise ConfigError(f"{saved_path}: invalid YAML; cannot compare the resumed run's config") from None
    if saved is None or saved == {}:
        raise ConfigError(f"{saved_path}: empty, it holds no settings of the run; put them back (e.g. from a "
                          "copy of the command line) or start a new run without --resume")
    if not isinstance(saved, dict):
        raise ConfigError(f"{saved_path}: not a mapping of settings; cannot compare the resumed run's config")
    changes = config_changes(saved, config_to_dict(cfg))
    defaults = _default_dict(cfg)
    for key in [k for k in changes if k not in saved]:  # a field added to the code since that run was saved
        if key in defaults and changes[key][1] == defaults[key]:
            del changes[key]  # ... at its default: the saved run behaved as the default
    for key in [k for k in changes if k in saved and not hasattr(cfg, k)]:
        del changes[key]  # a field the code no longer has: nothing reads it
    if mutable is not None:
        fixed = [k for k in changes if k not in set(mutable)]
        if fixed:
            old, new = changes[fixed[0]]
            raise ConfigError(f"{saved_path}: --resume with a changed {fixed[0]} ({old!r} -> {new!r}) does not fit "
                              "the saved weights; drop the change, or start a new run without --resume")
    return changes
