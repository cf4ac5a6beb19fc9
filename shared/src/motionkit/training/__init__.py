"""Training utilities shared by the PyTorch packages: seeding, atomic checkpoints with exact resume, logging
with progress bars, non-finite loss checks, and DDP (``motionkit.training.ddp``). Needs torch."""

from motionkit.training.checkpoint import Checkpointer, check_finite, load_checkpoint, restore_modules, save_checkpoint
from motionkit.training.runlog import RunLogger
from motionkit.training.seed import get_rng_state, seed_everything, set_rng_state

__all__ = [
    "Checkpointer", "RunLogger", "check_finite", "get_rng_state", "load_checkpoint", "restore_modules",
    "save_checkpoint", "seed_everything", "set_rng_state",
]
