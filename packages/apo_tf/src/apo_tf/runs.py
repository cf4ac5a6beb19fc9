"""Run folders of apo_tf: the conventions of ``motionkit.run.start_run``, without torch.

Every job (``train``, ``infer``, ``fit``) writes a new folder ``<log-dir>/apo_tf/<name>`` (``<name>-2``, ``-3`` ...
when that exists) unless the user resumes (``--resume``: the latest run of that name; ``--resume RUN``: a run
name or folder). The folder is locked while a process writes it (a second process gets one line), holds
``run.json`` (status, command line, pid) and ``config.yaml``, and the config is printed at start. Folder
resolution and the lock come from :mod:`motionkit.runfolder`; this module adds the TensorFlow device choice and
the look-ups between runs (an inference finds its GAN run, a report finds its inference run).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from motionkit.config import config_to_dict, format_config, save_config
from motionkit.errors import CheckpointError, ConfigError
from motionkit.runfolder import (
    RunFolder,
    RunLockedError,
    config_changes,
    numbered_runs,
    open_run_folder,
    resolve_run_dir,
)

PACKAGE = "apo_tf"


def package_root(log_dir: str | None = None, home: str | None = None) -> Path:
    """``<log-dir>/apo_tf`` (default ``runs/apo_tf``); ``--home`` or ``$APO_TF_HOME`` name that folder directly."""
    if home or os.environ.get("APO_TF_HOME"):
        return Path(home or os.environ["APO_TF_HOME"])
    return Path(log_dir or "runs") / PACKAGE


def data_root(cfg, root: Path) -> str:
    """The folder of the dataset files: ``cfg.data_root``, else ``<root>/data``."""
    return cfg.data_root or str(Path(root) / "data")


@contextlib.contextmanager
def start_run(cfg, root: Path, name: str, resume: str | None, verbose: bool = True,
              mutable: frozenset[str] = frozenset()) -> Iterator[RunFolder]:
    """Resolve, create and lock the run folder; print and save the config; record finished/failed on exit.

    On ``--resume`` only the fields in ``mutable`` may differ from the saved ``config.yaml`` (they apply, and
    each change is printed); any other change is refused with one line before anything is written.
    """
    path, resuming = resolve_run_dir(root.parent, root.name, name, resume)
    if resuming:
        _refuse_changes(cfg, path, mutable)
    folder = open_run_folder(path, resuming)
    saved = (path / "config.yaml").read_text() if (path / "config.yaml").exists() else None
    status = "failed"
    try:
        _save_config(cfg, path, resuming, verbose)
        yield folder
        status = "finished"
    finally:
        if status == "failed" and saved is not None:  # a failed resume keeps the record of the saved weights
            (path / "config.yaml").write_text(saved)
        folder.close(status)


def _refuse_changes(cfg, path: Path, mutable: frozenset[str]) -> None:
    import yaml

    saved_file = path / "config.yaml"
    if not saved_file.exists():
        return
    try:
        saved = yaml.safe_load(saved_file.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError):
        raise ConfigError(f"{saved_file}: unreadable saved config; cannot check what --resume would change") from None
    for key, (old, new) in config_changes(saved, config_to_dict(cfg)).items():
        if key not in mutable:
            allowed = f"only {', '.join(sorted(mutable))}" if mutable else "no setting"
            raise ConfigError(f"{path}: --resume with {key} {old!r} -> {new!r} would not match the saved run "
                              f"(a resume may change {allowed}); drop --resume to start a new run")


def _save_config(cfg, path: Path, resuming: bool, verbose: bool) -> None:
    import yaml

    if verbose:
        print(f"run folder: {path}" + (" (resumed)" if resuming else ""), flush=True)
        print(format_config(cfg), flush=True)
    saved_file = path / "config.yaml"
    if resuming and saved_file.exists():
        saved = yaml.safe_load(saved_file.read_text()) or {}
        for key, (old, new) in config_changes(saved, config_to_dict(cfg)).items():
            if verbose:
                print(f"config change on resume: {key}: {old!r} -> {new!r}", flush=True)
    save_config(cfg, saved_file)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold ``path``'s run lock (without touching ``run.json``): a reader that also writes, like ``report``."""
    with open(Path(path) / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(f"{path}: in use by another process; wait for it to end") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def find_run(root: Path, name: str, run: str = "", need: str = "config.yaml", what: str = "run") -> Path:
    """A finished-or-not run folder: ``run`` (a name under ``root`` or a path), else the latest run called
    ``name`` that holds ``need``. One-line error saying which command makes one."""
    if run:
        for candidate in (Path(run), root / run):
            if (candidate / need).exists():
                return candidate
        raise CheckpointError(f"{run}: no {what} there (no {need} in {Path(run)} or {root / run})")
    for _, path in reversed(numbered_runs(root, name)):
        if (path / need).exists():
            return path
    raise CheckpointError(f"{root}: no {what} called {name!r} yet (looked for {root / name}[-N]/{need})")


def select_device(name: str | None) -> None:
    """``cpu`` hides the GPUs from TensorFlow; ``cuda``/``gpu`` requires one, ``cuda:N`` shows TensorFlow only
    GPU N; ``auto``/None leaves TF's choice. One line for a device that is not there (before any work)."""
    if name is None or name.strip().lower() == "auto":
        return
    import tensorflow as tf

    kind, _, index = name.strip().lower().partition(":")
    if kind == "cpu" and index in ("", "0"):
        tf.config.set_visible_devices([], "GPU")
    elif kind in ("cuda", "gpu") and (not index or index.isdigit()):
        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            raise ConfigError(f"--device {name}: TensorFlow sees no GPU (tensorflow-cpu is installed by default)")
        if index and int(index) >= len(gpus):
            raise ConfigError(f"--device {name}: TensorFlow sees {len(gpus)} GPU(s), {kind}:0 to "
                              f"{kind}:{len(gpus) - 1}")
        if index:
            tf.config.set_visible_devices([gpus[int(index)]], "GPU")
    else:
        raise ConfigError(f"--device {name!r}: expected cpu, cuda, cuda:N (or gpu, gpu:N) or auto")
