"""Every hyperparameter of apo_tf, as two dataclasses: one for a GAN (``gan_id``), one for an inference run.

The original keeps them as JSON files named by id (``gan_params/h3m_big.json``, ``inference_params/h3m_big.json``);
here they are YAML files under ``configs/gan/`` and ``configs/inference/`` with the original keys, plus optional
keys whose defaults are the faithful values (apo_tf.md §7.2). Paths go under a home directory (``--home`` or
``$APO_TF_HOME``, default ``runs/apo_tf``) instead of the source tree (apo_tf.md §6 #9).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from motionkit.config import load_config
from motionkit.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


@dataclass
class GanConfig:
    """One pose-prior GAN (apo_tf.md §1)."""

    gan_id: str = ""
    dataset: str = "synth_consistent_scaled_c1"  # training dataset id (see apo_tf.data.registry)
    wgan_type: str = "weight_clipped"  # weight_clipped (the paper) | gradient_penalized
    n_z: int = 32
    activation: str = "relu"
    n_g: list[int] = field(default_factory=lambda: [128, 64])  # generator hidden sizes
    n_c: list[int] = field(default_factory=lambda: [128, 64])  # critic hidden sizes
    batch_size: int = 128
    n_critic: int = 5  # critic updates per generator update (GAN base-class default)
    lr: float = 1e-4  # critic_learning_rate = generator_learning_rate
    clip: float = 0.01  # max_critic_var: every critic kernel and bias is clipped to [-clip, clip]
    rmsprop: str = "tf1"  # tf1: ms slot starts at 1, eps 1e-10 inside the sqrt (faithful) | keras: ms 0, eps 1e-7
    rms_decay: float = 0.9
    rms_eps: float = 1e-10
    gp_lambda: float = 10.0  # gradient_penalized only
    gp_reduce: str = "mean"  # mean (WGAN-GP paper) | sum (the original code sums over the batch: 128x stronger)
    adam_beta1: float = 0.0  # gradient_penalized uses Adam(lr, 0, 0.9)
    adam_beta2: float = 0.9
    max_steps: int = 10_000_000  # global steps = critic updates + generator updates (both count, as in TF1)
    seed: int = 0
    sampling: str = "uniform"  # real batches drawn uniformly in-graph (the original: 100k shuffle buffer)
    jit_compile: bool = False  # XLA-compile the training loop
    iters_per_call: int = 200  # GAN iterations (n_critic + 1 global steps each) per compiled call
    log_every: int = 12_000  # global steps between TensorBoard/jsonl summaries
    ckpt_every: int = 600_000  # global steps between checkpoints (the original: every 600 s)
    keep_last: int = 2
    strategy: str = "default"  # default | mirrored (tf.distribute.MirroredStrategy over the visible devices)
    data_root: str = ""  # folder with the dataset files; default <home>/data


@dataclass
class InferenceConfig:
    """One inference run: fit the generator's latent space to 2D observations (apo_tf.md §2)."""

    inference_id: str = ""
    dataset: str = "synth_consistent_scaled_c1_10fps"  # evaluation dataset id
    gan_id: str = "synth_big"
    critic_weight: float = 0.0
    smoothness_weight: float = 0.0
    glide_weight: float = 0.0
    consistency_weight: float = 1.0
    tol: float = 1e-9  # scipy tol: ftol = gtol for L-BFGS-B
    maxiter: int = 15000
    dtype: str = "float32"  # float32 as the original | float64
    scale_init: float = 1.65
    z_init: str = "zeros"  # zeros (faithful) | noise (small N(0, 0.01) noise; see apo_tf.md §5 pitfall)
    solver: str = "fast"  # fast: per-frame batched solve + shared scale (same optimum, ~10x faster) | lbfgsb: joint
    fast_iters: list[int] = field(default_factory=lambda: [400, 3, 50, 200])  # fast solver budgets: first
    # solve, secant steps on the scale, iterations per secant step, final polish
    max_sequences: int = 0  # 0 = all sequences of the eval split
    seed: int = 0
    data_root: str = ""


def home_dir(home: str | None = None) -> Path:
    """Where models/, data/ and results.hdf5 live: ``--home``, else ``$APO_TF_HOME``, else ``runs/apo_tf``."""
    return Path(home or os.environ.get("APO_TF_HOME") or "runs/apo_tf")


def config_path(kind: str, config_id: str) -> Path:
    """``configs/<kind>/<id>.yaml``, or ``config_id`` itself when it is a path to a YAML file."""
    p = Path(config_id)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    p = CONFIG_DIR / kind / f"{config_id}.yaml"
    if not p.exists():
        known = sorted(q.stem for q in (CONFIG_DIR / kind).glob("*.yaml"))
        raise ConfigError(f"unknown {kind} id {config_id!r} (no {p}); known: {', '.join(known)}")
    return p


def load_gan_config(gan_id: str, overrides: dict | None = None) -> GanConfig:
    path = config_path("gan", gan_id)
    cfg = load_config(GanConfig, path, overrides)
    cfg.gan_id = cfg.gan_id or path.stem
    return cfg


def load_inference_config(inference_id: str, overrides: dict | None = None) -> InferenceConfig:
    path = config_path("inference", inference_id)
    cfg = load_config(InferenceConfig, path, overrides)
    cfg.inference_id = cfg.inference_id or path.stem
    return cfg
