"""The two networks of the pose-prior GAN (apo_tf.md §1.1), and their factories.

``build_generator(cfg, n_joints)`` / ``build_critic(cfg, n_joints)`` make fresh networks from a
:class:`apo_tf.config.GanConfig`; ``load_gan(run_dir)`` rebuilds both from a GAN run folder (its ``config.yaml``
and latest TF checkpoint).
"""

from __future__ import annotations

from pathlib import Path

from apo_tf.models.critic import Critic
from apo_tf.models.generator import Generator
from apo_tf.models.mlp import MLP

__all__ = ["MLP", "Generator", "Critic", "build_generator", "build_critic", "gan_joints", "load_gan"]


def gan_joints(cfg) -> int:
    """Joints per pose of a GAN's training data set: 24 (s24) or 14 (s14)."""
    from apo_tf.data import registry

    return 24 if registry.parse_id(cfg.dataset).skeleton == "apo_s24" else 14


def build_generator(cfg, n_joints: int | None = None, seed: int | None = None) -> Generator:
    """G: (B, n_z) -> (B, J, 3), Glorot-normal kernels from ``seed`` (default 2 * cfg.seed)."""
    return Generator(cfg.n_z, cfg.n_g, n_joints or gan_joints(cfg), cfg.activation,
                     seed=2 * cfg.seed if seed is None else seed)


def build_critic(cfg, n_joints: int | None = None, seed: int | None = None) -> Critic:
    """C: (B, J, 3) -> (B,), Glorot-normal kernels from ``seed`` (default 2 * cfg.seed + 1)."""
    return Critic(cfg.n_c, n_joints or gan_joints(cfg), cfg.activation,
                  seed=2 * cfg.seed + 1 if seed is None else seed)


def load_gan(run_dir: str | Path):
    """(GanConfig, Generator, Critic, global step) of the GAN trained in ``run_dir``. One-line errors."""
    import numpy as np
    import tensorflow as tf

    from apo_tf.checkpoint import latest_checkpoint, restore
    from apo_tf.config import GanConfig
    from motionkit.config import load_config
    from motionkit.errors import CheckpointError

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise CheckpointError(f"{run_dir}: no trained GAN here (no config.yaml)")
    cfg = load_config(GanConfig, run_dir / "config.yaml")
    _check_record(run_dir / "config.yaml")
    latest = latest_checkpoint(run_dir)
    if latest is None:
        raise CheckpointError(f"{run_dir}: no checkpoint of GAN {cfg.gan_id!r}")
    G, C = build_generator(cfg), build_critic(cfg)
    step = tf.Variable(0, dtype=tf.int64)
    restore(tf.train.Checkpoint(generator=G, critic=C, step=step), latest, "load the GAN", partial=True)
    bad = next((w.name for w in G.weights + C.weights if not np.isfinite(w.numpy()).all()), None)
    if bad is not None:
        raise CheckpointError(f"{latest}: {bad} holds non-finite values; this GAN cannot be used")
    return cfg, G, C, int(step.numpy())


ARCHITECTURE = ("dataset", "n_z", "n_g", "n_c", "activation")  # what the saved weights' shapes depend on


def _check_record(path: Path) -> None:
    """A GAN run's ``config.yaml`` names every architecture setting: a missing one would silently be the default,
    and the checkpoint would be blamed for the mismatch."""
    import yaml

    from motionkit.errors import CheckpointError

    saved = yaml.safe_load(path.read_bytes().decode("utf-8")) or {}  # load_config has read it already
    missing = [k for k in ARCHITECTURE if k not in saved]
    if missing:
        raise CheckpointError(f"{path}: {'empty' if not saved else 'lacks ' + ', '.join(missing)}, so the shapes of "
                              "the saved GAN are unknown; restore the run's config.yaml")
