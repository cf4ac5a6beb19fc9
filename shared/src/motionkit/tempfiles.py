"""Temporaries of atomic writes into shared folders (data sets, caches, results files).

A writer of ``<folder>/<name>`` writes ``<folder>/.<name>.<pid>[...].tmp`` and renames it over ``<name>`` when
complete; a process killed in between leaves its temporary. :func:`remove_stale_temporaries` deletes the ones
whose writer no longer runs, so a live writer's temporary is never touched. Standard library only.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["remove_stale_temporaries", "process_alive"]


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (another user's process counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's live process; a number no pid can be
        return True
    return True


def remove_stale_temporaries(target: str | Path) -> None:
    """Delete the files and folders ``.<target name>.<pid>[...].tmp`` beside ``target`` whose writer is gone."""
    target = Path(target)
    prefix = f".{target.name}."
    for stale in target.parent.glob(f"{prefix}*.tmp"):
        pid = stale.name[len(prefix):].split(".")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
