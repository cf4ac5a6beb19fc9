"""The shared fault-injection harness: damage files the way disks, users and killed processes do, run a CLI,
and check that it ends in one line.

Each package's ``tests/test_faults.py`` builds its cases from these (a bit-flipped and a truncated checkpoint,
a non-UTF-8 config, a folder where a file belongs, a full disk, a diverging learning rate ...) and asserts
:func:`assert_one_line_error` on each. Standard library only.
"""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "flip_bytes", "truncate", "write_non_utf8", "limit_file_size", "run_cli", "assert_one_line_error",
]


def flip_bytes(path: str | Path, count: int = 100, seed: int = 0, start: int = 0) -> None:
    """Invert ``count`` bytes at random offsets at or after ``start`` (a damaged disk or transfer)."""
    path = Path(path)
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for _ in range(count):
        i = rng.randrange(min(start, len(data) - 1), len(data))
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: str | Path, fraction: float = 0.5) -> None:
    """Cut the file to ``fraction`` of its length (a killed copy, a full disk at write time)."""
    path = Path(path)
    with open(path, "r+b") as handle:
        handle.truncate(int(path.stat().st_size * fraction))


def write_non_utf8(path: str | Path, text: str = "lr: 0.001\n") -> None:
    """Write ``text`` in UTF-16 (what some Windows editors save): not valid UTF-8."""
    Path(path).write_bytes(text.encode("utf-16"))


def limit_file_size(max_bytes: int):
    """A ``preexec_fn`` for :func:`subprocess.run`: the child cannot grow any file beyond ``max_bytes``; a
    larger write fails with ``OSError`` (EFBIG), as a full disk fails with ENOSPC."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return apply


def run_cli(module: str, args: Sequence[str], *, cwd: str | Path | None = None, env: dict | None = None,
            timeout: float = 300, preexec_fn=None, python: str | None = None) -> subprocess.CompletedProcess:
    """``python -m <module> <args>`` in a subprocess with captured text output (progress bars off)."""
    full_env = {**os.environ, "TQDM_DISABLE": "1", **(env or {})}
    return subprocess.run([python or sys.executable, "-m", module, *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=full_env, timeout=timeout, preexec_fn=preexec_fn)


def assert_one_line_error(result: subprocess.CompletedProcess, *needles: str, status: int = 2) -> str:
    """The run failed with ``status``, printed no traceback, and its one ``error:`` line (the last line of
    stderr) contains every needle; returns that line."""
    err = result.stderr.strip()
    lines = [line for line in err.splitlines() if line.strip()]
    assert result.returncode == status, f"exit {result.returncode}, expected {status}; stderr:\n{err[-2000:]}"
    assert "Traceback" not in err, f"traceback instead of one line:\n{err[-2000:]}"
    assert lines, "nothing on stderr"
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], f"expected one final 'error:' line, got:\n{err[-2000:]}"
    for needle in needles:
        assert needle in errors[0], f"{needle!r} not in {errors[0]!r}"
    from motionkit.errors import count_one_line_error

    count_one_line_error()
    return errors[0]
