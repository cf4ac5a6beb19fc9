"""The GAN's TensorFlow checkpoints on disk: find the latest, restore it, clean what a killed write left.

A GAN run folder holds TensorFlow's object-based checkpoints, ``ckpt-<global step>.index`` plus
``ckpt-<global step>.data-<i>-of-<n>``, and the ``checkpoint`` state file (a text protobuf naming the latest,
written by ``tf.train.CheckpointManager``). TensorFlow checks each tensor's CRC32C when it reads one; this module
turns every way the files can be damaged or missing into one line naming the file (:class:`CheckpointError`),
where TensorFlow alone would give a traceback or, for a damaged state file, silently start from step 0.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from motionkit.errors import CheckpointError

STATE_FILE = "checkpoint"
_CKPT = re.compile(r"^ckpt-(\d+)\.index$")


def checkpoints_on_disk(run_dir: str | Path) -> list[str]:
    """Names ``ckpt-<step>`` of every checkpoint index in ``run_dir``, oldest step first."""
    found = [(int(m.group(1)), m.group(0)[:-len(".index")]) for p in Path(run_dir).iterdir()
             if (m := _CKPT.match(p.name))] if Path(run_dir).is_dir() else []
    return [name for _, name in sorted(found)]


def latest_checkpoint(run_dir: str | Path) -> str | None:
    """The path prefix of the latest checkpoint that the state file names, with its index and every data shard
    present; None when the folder holds no checkpoint at all. One line for a state file that is damaged, not
    UTF-8, a folder, or missing beside checkpoints, and for a named checkpoint whose files are missing."""
    from google.protobuf import text_format
    from tensorflow.python.training import checkpoint_state_pb2

    run_dir = Path(run_dir)
    state_file, on_disk = run_dir / STATE_FILE, checkpoints_on_disk(run_dir)
    hint = (f"; the newest checkpoint beside it is {on_disk[-1]}: write 'model_checkpoint_path: \"{on_disk[-1]}\"' "
            "into it to use that one" if on_disk else "")
    if state_file.is_dir():
        raise CheckpointError(f"{state_file}: a folder where TensorFlow's checkpoint state file belongs{hint}")
    if not state_file.exists():
        if on_disk:
            raise CheckpointError(f"{state_file}: missing, so the latest checkpoint is unknown{hint}")
        return None
    try:
        state = text_format.Parse(state_file.read_bytes().decode("utf-8"), checkpoint_state_pb2.CheckpointState())
    except (UnicodeDecodeError, text_format.ParseError) as e:
        reason = "not UTF-8 text" if isinstance(e, UnicodeDecodeError) else str(e).splitlines()[0][:120]
        raise CheckpointError(f"{state_file}: damaged checkpoint state file ({reason}){hint}") from None
    if not state.model_checkpoint_path:
        if on_disk:
            raise CheckpointError(f"{state_file}: names no checkpoint{hint}")
        return None
    prefix = Path(state.model_checkpoint_path)
    prefix = prefix if prefix.is_absolute() else run_dir / prefix
    if prefix.parent.resolve() != run_dir.resolve():  # a run continues its own weights, never another run's
        raise CheckpointError(f"{state_file}: names {state.model_checkpoint_path!r}, a checkpoint outside this run "
                              f"folder{hint or '; write the name of one of its own checkpoints into it'}")
    _check_files(prefix)
    return str(prefix)


def _check_files(prefix: Path) -> None:
    """The index and every data shard of the checkpoint ``prefix`` exist as files (one line naming a missing one)."""
    index = prefix.with_name(prefix.name + ".index")
    if not index.is_file():
        what = "is a folder" if index.is_dir() else "is missing"
        raise CheckpointError(f"{index}: {what}; the checkpoint {prefix.name} cannot be read")
    shards = sorted(prefix.parent.glob(prefix.name + ".data-*-of-*"))
    total = int(shards[0].name.rsplit("-of-", 1)[1]) if shards else 1
    for i in range(total):
        shard = prefix.with_name(f"{prefix.name}.data-{i:05d}-of-{total:05d}")
        if not shard.is_file():
            raise CheckpointError(f"{shard}: missing; the checkpoint {prefix.name} cannot be read")


def restore(checkpoint, prefix: str, action: str = "restore", partial: bool = False) -> None:
    """Restore ``checkpoint`` (a ``tf.train.Checkpoint``) from ``prefix``; every object it holds must be found
    there (``partial``: the file may hold more, e.g. optimiser slots a loader does not need). A damaged, truncated
    or foreign checkpoint is one line naming it."""
    try:
        status = checkpoint.restore(prefix)
        if partial:
            status.expect_partial()
        status.assert_existing_objects_matched()
    except Exception as e:  # noqa: BLE001 - TF raises OpError, ValueError, AssertionError ... for a bad file
        reason = " ".join(str(e).split()).replace(f"{prefix}", Path(prefix).name)
        reason = reason if len(reason) <= 200 else reason[:200].rsplit(" ", 1)[0] + " ..."
        raise CheckpointError(f"{prefix}: cannot {action} from this checkpoint ({reason})") from None


def clean_leftovers(run_dir: str | Path) -> list[Path]:
    """Remove what a checkpoint write killed half-way leaves (``ckpt-N_temp/`` folders, the state file's
    ``checkpoint.tmp<hex>``); call only while holding the run folder's lock. Returns what was removed."""
    removed = []
    for stale in [*Path(run_dir).glob("ckpt-*_temp*"), *Path(run_dir).glob(STATE_FILE + ".tmp*")]:
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed
