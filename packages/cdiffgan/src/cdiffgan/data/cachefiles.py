"""Failed writes into shared data folders, in a few words.

Writers in a data folder (the synthetic set, the z-norm and k-means caches) write ``.<name>.<pid>[...].tmp`` beside
the target and rename it over the target when complete; motionkit's ``remove_stale_temporaries`` removes those of
killed writers.
"""

from __future__ import annotations

import re


def write_failure(exc: OSError) -> str:
    """The reason of a failed write in a few words: the system's (``File too large``, ``No space left on device``)
    also when h5py buries it in a long message."""
    found = re.search(r"error message = '([^']*)'", str(exc))
    if found:
        return found.group(1)
    return exc.strerror or str(exc).splitlines()[0][:120]
