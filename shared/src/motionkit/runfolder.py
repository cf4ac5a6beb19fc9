"""Run folders as Lightning and OpenMMLab users know them, without torch (the TensorFlow package uses this too).

Every invocation gets a new folder ``<log_root>/<package>/<name>`` (``<name>-2``, ``<name>-3`` ... when that
exists), unless the user resumes: ``--resume`` continues the latest run of that name, ``--resume RUN`` the run
folder RUN (a name under ``<log_root>/<package>`` or a path). A finished run is never silently "resumed" into
doing nothing: the package calls :func:`check_not_finished` after restoring its checkpoint.

A run folder holds ``run.json`` (status ``running``/``finished``/``failed``, the command line, pid, times) and
``.lock``: an exclusive ``fcntl`` lock held while a process writes the folder, so a second process gets one line
(:class:`RunLockedError`) instead of interleaved writes.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from motionkit.errors import ConfigError, MotionzooError

__all__ = [
    "RunLockedError", "RunFolder", "resolve_run_dir", "latest_run_dir", "numbered_runs", "open_run_folder",
    "check_not_finished", "config_changes", "is_run_folder",
    "check_run_name",
]


class RunLockedError(MotionzooError):
    """Another process is writing this run folder."""


def numbered_runs(root: str | Path, name: str) -> list[tuple[int, Path]]:
    """The run folders ``name``, ``name-2``, ``name-3`` ... that exist under ``root`` (``<log_root>/<package>``),
    as ``(number, path)`` sorted by number."""
    root = Path(root)
    found = []
    if (root / name).is_dir():
        found.append((1, root / name))
    pattern = re.compile(re.escape(name) + r"-(\d+)$")
    if root.is_dir():
        for path in root.iterdir():
            match = pattern.match(path.name)
            if match and path.is_dir():
                found.append((int(match.group(1)), path))
    return sorted(found)


def latest_run_dir(log_root: str | Path, package: str, name: str) -> Path | None:
    """The newest run folder called ``name`` (``name``, ``name-2`` ...) under ``<log_root>/<package>``, or None.
    Only looks; creates nothing (e.g. to find the t1 run a t2 stage builds on)."""
    existing = numbered_runs(Path(log_root) / package, name)
    return existing[-1][1] if existing else None


def resolve_run_dir(log_root: str | Path, package: str, name: str, resume: str | None) -> tuple[Path, bool]:
    """The folder this invocation writes (a new one is created), and whether it resumes an existing run.

    Args:
        log_root: root of every package's runs (``runs``).
        package: the package name; runs live in ``<log_root>/<package>``.
        name: the run name (``--run-name``, or the package's default such as ``DeepNAG-synthetic-kinect``).
        resume: None (new run), ``""`` (the latest run called ``name``), or a run name / folder path.
    """
    root = Path(log_root) / package
    check_run_name(name)
    if resume is None:  # a new folder, created here (atomically: two processes never get the same one)
        existing = numbered_runs(root, name)
        number = existing[-1][0] + 1 if existing else 1
        while True:
            path = root / name if number == 1 else root / f"{name}-{number}"
            try:
                path.mkdir(parents=True, exist_ok=False)
                return path, False
            except FileExistsError:
                number += 1
    if resume == "":
        latest = latest_run_dir(log_root, package, name)
        if latest is None:
            raise ConfigError(f"--resume: no earlier run called {name!r} under {root} (start one without --resume)")
        return latest, True
    as_path = Path(resume)
    for candidate in (as_path, root / resume):
        if candidate.is_dir():
            if not is_run_folder(candidate):  # e.g. a config or data folder: never write run files into it
                raise ConfigError(f"--resume {resume}: {candidate} is not a run folder (it has no run.json or "
                                  "config.yaml); name a folder under runs/<package>/")
            return candidate, True
    raise ConfigError(f"--resume {resume}: no such run folder (looked for {as_path} and {root / resume})")


def check_run_name(name: str) -> None:
    """A run name is one plain folder name: not empty, no path separator, not ``.``/``..`` or hidden (it would
    put the run outside ``runs/<package>/`` or out of sight)."""
    text = str(name)
    if not text.strip() or "/" in text or "\\" in text or text.startswith(".") or "\0" in text:
        raise ConfigError(f"run name {text!r}: must be a plain folder name (letters, digits, - _), not a path")


def is_run_folder(path: Path) -> bool:
    """A folder a run made: it holds ``run.json`` or ``config.yaml``, or nothing yet (a run killed at once)."""
    return (path / "run.json").is_file() or (path / "config.yaml").is_file() or not any(path.iterdir())


@dataclass
class RunFolder:
    """An open run folder: ``path`` is locked by this process until :meth:`close`."""

    path: Path
    resuming: bool
    record: dict[str, Any] = field(default_factory=dict)
    _lock: Any = None
    previous: dict[str, Any] = field(default_factory=dict)  # run.json as this process found it

    def write_record(self, **values: Any) -> None:
        """Update ``run.json`` atomically."""
        self.record.update(values)
        tmp = self.path / ".run.json.tmp"
        tmp.write_text(json.dumps(self.record, indent=1, default=str) + "\n")
        os.replace(tmp, self.path / "run.json")

    def close(self, status: str, keep_previous: bool = False) -> None:
        """Record the final status (``finished``, ``failed`` or ``interrupted``) and release the lock.

        ``keep_previous``: this attempt changed nothing (a resume refused or failed before its first
        checkpoint): ``run.json`` keeps the status it had, with the attempt noted under ``last_attempt``."""
        if self._lock is None:
            return
        ended = time.strftime("%Y-%m-%dT%H:%M:%S")
        if keep_previous and self.previous:
            attempt = {"status": status, "started": self.record.get("started"), "ended": ended,
                       "argv": self.record.get("argv")}
            self.record = dict(self.previous)
            self.write_record(last_attempt=attempt)
        else:
            self.write_record(status=status, ended=ended)
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None


def open_run_folder(path: str | Path, resuming: bool) -> RunFolder:
    """Create (or reopen, when resuming) the folder, take its lock and mark it ``running``.

    Raises :class:`RunLockedError` naming the folder and the holder's pid when another process has it.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    handle = open(path / ".lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise RunLockedError(f"{path}: in use by another process (pid {holder}); wait for it to end, or pick "
                             "another --run-name") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    for stale in path.rglob(".*.tmp"):  # left by writers killed mid-write; we hold the lock, nobody writes them
        if stale.is_file():
            stale.unlink(missing_ok=True)
    previous = {}
    if (path / "run.json").is_file():
        try:
            previous = json.loads((path / "run.json").read_text())
        except (OSError, ValueError):
            previous = {}
    folder = RunFolder(path, resuming, dict(previous), handle, dict(previous))
    folder.write_record(status="running", argv=sys.argv, pid=os.getpid(), host=socket.gethostname(),
                        started=time.strftime("%Y-%m-%dT%H:%M:%S"),
                        resumed=int(previous.get("resumed", -1)) + 1 if resuming else 0)
    return folder


def check_not_finished(path: str | Path, done: int, total: int, unit: str = "epoch", flag: str = "--epochs") -> None:
    """Refuse to "resume" a run that has already reached ``total``: it would train nothing.

    The one-line error says how to extend the run (a larger ``flag``) or start a new one.
    """
    if total > 0 and done >= total:
        raise ConfigError(f"{path}: this run already finished ({unit} {done} of {total}); pass {flag} larger than "
                          f"{done} with --resume to extend it, or drop --resume to start a new run")


def config_changes(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{key: (saved value, current value)}`` for every key whose value differs between two config dicts."""
    keys = list(dict.fromkeys([*saved, *current]))
    return {k: (saved.get(k), current.get(k)) for k in keys if saved.get(k) != current.get(k)}

