"""Temp files of atomic writes into shared data folders: the ones whose writer was killed are removed.

Writers in a data folder (the synthetic set, the z-norm and k-means caches) write ``.<name>.<pid>[...].tmp`` beside
the target and rename it over the target when complete; a process killed in between leaves its temp file, which
the next writer of that name removes once the pid is no longer running.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path


def clean_stale(folder: Path, prefix: str) -> None:
    """Remove ``<prefix><pid>[...].tmp`` files/folders in ``folder`` whose writer process is gone (a killed write)."""
    for path in Path(folder).glob(f"{prefix}*.tmp"):
        pid = path.name[len(prefix):].split(".")[0]
        if pid.isdigit() and not _alive(int(pid)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_failure(exc: OSError) -> str:
    """The reason of a failed write in a few words: the system's (``File too large``, ``No space left on device``)
    also when h5py buries it in a long message."""
    found = re.search(r"error message = '([^']*)'", str(exc))
    if found:
        return found.group(1)
    return exc.strerror or str(exc).splitlines()[0][:120]
