"""User-facing errors: each one is a single line that names the file or value and what is wrong with it.

Command-line entry points wrap their ``main`` with :func:`run_cli`, the one error boundary: it prints
``error: <message>`` for any :class:`MotionzooError` or expected failure (I/O, full disk, decoding) and exits
with status 2, instead of showing a traceback; a bug gets one line too, and its traceback with ``--debug``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence


class MotionzooError(Exception):
    """Base class of errors a user can fix (bad file, missing data, bad config). The message is one line."""

    def __init__(self, message: str) -> None:
        message = str(message)
        if "Original Traceback" in message:  # re-raised by a torch DataLoader worker: keep the worker's message
            message = message.rsplit(f"{type(self).__name__}: ", 1)[-1]
        super().__init__(" ".join(message.split()))  # force a single line


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
    """Run ``main(argv)`` behind the one error boundary of every CLI; returns the status for ``sys.exit``.

    - a :class:`MotionzooError` (a bad file, value or config): ``error: <message>``, status 2;
    - an expected failure of the machine or the input (an ``OSError`` such as a full disk, a missing file or a
      folder where a file belongs; a file in the wrong text encoding; ``MemoryError``): one line, status 2;
    - Ctrl-C: ``interrupted``, status 130;
    - anything else is a bug: one line saying so, status 1, and with ``--debug`` (anywhere on the command line,
      or ``MOTIONZOO_DEBUG=1``) the full traceback instead.
    """
    import os
    import traceback

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("MOTIONZOO_DEBUG", "") not in ("", "0")
    args = [a for a in args if a != "--debug"]
    try:
        status = main(args)
    except MotionzooError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except (OSError, UnicodeError, MemoryError) as exc:
        if debug:
            traceback.print_exc()
        return _fail(describe_failure(exc))
    except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
        if _is_out_of_memory(exc) and not debug:  # torch's allocators raise RuntimeError, not MemoryError
            return _fail(describe_failure(MemoryError()))
        if debug:
            raise
        return _fail(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} (rerun with "
                     "--debug for the traceback, and please report it)", status=1)
    return int(status or 0)


def describe_failure(exc: BaseException) -> str:
    """One line for an expected failure: the file and the system's reason (``OSError``), the decoding problem
    (``UnicodeError``), or memory."""
    if isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or str(exc) or type(exc).__name__
        if is_disk_full(exc):
            reason += " (is the disk full?)"
        return f"{name}: {reason}" if name else reason
    if isinstance(exc, UnicodeDecodeError):
        return f"a file is not valid {exc.encoding} text (byte {exc.start}: {exc.reason})"
    if isinstance(exc, MemoryError):
        return "out of memory (use a smaller batch size or a smaller model)"
    return f"{type(exc).__name__}: {exc}"


def _is_out_of_memory(exc: BaseException) -> bool:
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "out of memory" in text)


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error is a full disk, a quota or a file-size limit (ENOSPC, EDQUOT, EFBIG)."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


_ONE_LINE_ERRORS = [0]  # error lines printed (or verified in a child process) here; the fault suite reads it


def count_one_line_error() -> None:
    """Count one ``error:`` line that ended a command (:func:`run_cli` does; so does
    :func:`motionkit.faults.assert_one_line_error` for a child process it checked)."""
    _ONE_LINE_ERRORS[0] += 1


def one_line_errors() -> int:
    """How many ``error:`` lines ended commands in this process so far (see :func:`count_one_line_error`)."""
    return _ONE_LINE_ERRORS[0]


def _fail(message: str, status: int = 2) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    count_one_line_error()
    return status
