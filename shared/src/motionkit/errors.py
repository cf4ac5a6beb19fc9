"""User-facing errors: each one is a single line that names the file or value and what is wrong with it.

Command-line entry points wrap their ``main`` with :func:`run_cli`, which prints ``error: <message>`` for any
:class:`MotionzooError` and exits with status 2, instead of showing a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence


class MotionzooError(Exception):
    """Base class of errors a user can fix (bad file, missing data, bad config). The message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))  # force a single line


class DataFormatError(MotionzooError):
    """A data file exists but is malformed (wrong layout, shape, values)."""


class DatasetMissingError(MotionzooError):
    """A data set or one of its files is not where it was expected; the message says how to get it."""


class ChecksumError(MotionzooError):
    """A downloaded or supplied file does not have the expected SHA-256."""


class DownloadError(MotionzooError):
    """A file could not be fetched (unreachable URL, HTTP error)."""


class CheckpointError(MotionzooError):
    """A checkpoint is missing, truncated or incompatible with the model."""


class NonFiniteLossError(MotionzooError):
    """A loss became NaN or infinite during training."""


class ConfigError(MotionzooError, ValueError):
    """A config file, config value or command-line override is invalid (also a ValueError, for callers that
    validate arguments)."""


def run_cli(main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)`` and turn user-facing errors into one line on stderr and exit status 2.

    Returns the status to pass to ``sys.exit``: ``main``'s return value (0 when it returns None), 2 on a
    :class:`MotionzooError`, 130 on Ctrl-C.
    """
    try:
        status = main(argv)
    except MotionzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(status or 0)
