"""Every hyperparameter of apo_tf, as two dataclasses: one for a GAN (``gan_id``), one for an inference run.

The original keeps them as JSON files named by id (``gan_params/h3m_big.json``, ``inference_params/h3m_big.json``);
here they are YAML files under ``configs/gan/`` and ``configs/inference/`` with the original keys, plus optional
keys whose defaults are the faithful values (apo_tf.md §7.2). Outputs go to run folders (:mod:`apo_tf.runs`)
instead of the source tree (apo_tf.md §6 #9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from apo_tf.data import registry
from motionkit.cli import resolve_config_path
from motionkit.config import load_config
from motionkit.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


Activation = Literal["relu", "elu", "tanh", "leaky_relu"]
EvaSplit = Literal["original", "intended"]


@dataclass
class GanConfig:
    """One pose-prior GAN (apo_tf.md §1)."""

    gan_id: str = ""  # the GAN's id (default: the config file's name)
    dataset: str = "synth_consistent_scaled_c1"  # training dataset id <h3m|synth|synth_tiny|eva>[_s14]_...
    wgan_type: Literal["weight_clipped", "gradient_penalized"] = "weight_clipped"  # weight_clipped is the paper's
    n_z: int = 32  # latent size
    activation: Activation = "relu"  # hidden-layer activation of both networks
    n_g: list[int] = field(default_factory=lambda: [128, 64])  # generator hidden sizes
    n_c: list[int] = field(default_factory=lambda: [128, 64])  # critic hidden sizes
    batch_size: int = 128  # poses per critic or generator update
    n_critic: int = 5  # critic updates per generator update (GAN base-class default)
    lr: float = 1e-4  # learning rate of both networks (critic_learning_rate = generator_learning_rate)
    clip: float = 0.01  # max_critic_var: every critic kernel and bias is clipped to [-clip, clip]
    rmsprop: Literal["tf1", "keras"] = "tf1"  # tf1: ms slot starts at 1, eps inside the sqrt (faithful) | keras
    rms_decay: float = 0.9  # RMSProp decay
    rms_eps: float = 1e-10  # RMSProp epsilon
    gp_lambda: float = 10.0  # gradient-penalty weight (gradient_penalized only)
    gp_reduce: Literal["mean", "sum"] = "mean"  # penalty over the batch: mean (WGAN-GP paper) | sum (original code)
    adam_beta1: float = 0.0  # gradient_penalized uses Adam(lr, beta1, beta2)
    adam_beta2: float = 0.9  # see adam_beta1
    max_steps: int = 10_000_000  # global steps = critic updates + generator updates (both count, as in TF1)
    seed: int = 0  # seed of the initial weights, the latent codes and the real-batch order
    # deviation switch: uniform sampling is faster (in-graph) and mixes better (a 100k buffer only partly
    # shuffles H3.6M's 390k time-ordered frames); the paper configs keep the original's shuffle buffer
    sampling: Literal["shuffle", "uniform"] = field(default="shuffle", metadata={"help": (
        "shuffle: tf.data shuffle(shuffle_buffer).repeat().batch, the original | uniform: in-graph, with "
        "replacement")})
    shuffle_buffer: int = 100_000  # shuffle buffer of sampling=shuffle (the original's dataset.shuffle(100000))
    # deviation switch: the original stores HumanEva's trial-1 split bounds but never applies them, so all of
    # trial 1 is in train and in eval (the published eva numbers); "intended" applies them
    eva_split: EvaSplit = field(default="original", metadata={"help": (
        "HumanEva split: original (trial 1 whole in train and in eval, as published) | intended (train: trial 1 "
        "[0, p0) and trial 3; eval: trial 1 [p0, p1))")})
    jit_compile: bool = False  # XLA-compile the training loop
    iters_per_call: int = 200  # GAN iterations (n_critic + 1 global steps each) per compiled call
    log_every: int = 12_000  # global steps between TensorBoard/jsonl summaries
    ckpt_every: int = 600_000  # global steps between checkpoints (the original: every 600 s)
    keep_last: int = 2  # checkpoints kept
    strategy: Literal["default", "mirrored"] = "default"  # mirrored: synchronous data parallel over the devices
    data_root: str = ""  # folder with the dataset files (default: <log-dir>/data)

    def __post_init__(self) -> None:
        """Every value checked here, before anything is written (one line naming the field)."""
        registry.parse_id(self.dataset)
        _plain_id(self, "gan_id")
        _positive(self, "n_z", "batch_size", "n_critic", "max_steps", "iters_per_call", "log_every", "ckpt_every",
                  "keep_last", "shuffle_buffer", "lr", "clip", "rms_eps")
        _at_least(self, 0.0, "gp_lambda")
        _fraction(self, "rms_decay", "adam_beta1", "adam_beta2")
        _float32(self, "lr", "clip", "rms_eps", "gp_lambda")  # the networks compute in float32
        _at_most(self, MAX_STEPS, "max_steps")
        _at_most(self, MAX_BATCH, "batch_size")
        _at_most(self, MAX_WIDTH, "n_z")
        _seed(self)
        if self.jit_compile and self.sampling == "shuffle":
            raise ConfigError("jit_compile true: needs sampling uniform (XLA cannot compile the tf.data iterator of "
                              "sampling shuffle)")
        for name in ("n_g", "n_c"):
            sizes = getattr(self, name)
            if not sizes or min(sizes) <= 0:
                raise ConfigError(f"{name} {sizes}: hidden sizes must be positive and not empty")
            if max(sizes) > MAX_WIDTH:
                raise ConfigError(f"{name} {sizes}: a hidden size above {MAX_WIDTH} does not fit in memory")


@dataclass
class InferenceConfig:
    """One inference run: fit the generator's latent space to 2D observations (apo_tf.md §2)."""

    inference_id: str = ""  # the inference's id (default: the config file's name)
    dataset: str = "synth_consistent_scaled_c1_10fps"  # evaluation dataset id
    gan_id: str = "synth_big"  # the GAN whose generator is searched
    gan_run: str = ""  # that GAN's run folder: a name under <log-dir>/apo_tf or a path (default: latest gan-<gan_id>)
    critic_weight: float = 0.0  # weight of the critic ("feasibility") term
    smoothness_weight: float = 0.0  # weight of the smoothness term
    glide_weight: float = 0.0  # weight of the glide term
    consistency_weight: float = 1.0  # weight of the 2-D reprojection term
    tol: float = 1e-9  # scipy tol: ftol = gtol for L-BFGS-B
    maxiter: int = 15000  # L-BFGS-B iteration (and evaluation) limit
    dtype: Literal["float32", "float64"] = "float32"  # float32 as the original
    scale_init: float = 1.65  # initial shared scale s
    z_init: Literal["zeros", "noise"] = "zeros"  # zeros (faithful) | noise: N(0, 0.01) (apo_tf.md §5 pitfall)
    # deviation switch: fast is ~8x faster but caps its iterations and moves the shared scale by a few secant
    # steps, so it reaches a different optimum (README, "Solvers")
    solver: Literal["lbfgsb", "fast"] = field(default="lbfgsb", metadata={"help": (
        "lbfgsb: the original's joint scipy L-BFGS-B to convergence | fast: batched per-frame L-BFGS with "
        "capped budgets")})
    fast_iters: list[int] = field(default_factory=lambda: [400, 3, 50, 200], metadata={"help": (
        "fast solver budgets: first solve, secant steps on the scale, iterations per secant step, final polish")})
    max_sequences: int = 0  # only the first N eval sequences (0 = all)
    seed: int = 0  # seed of z_init=noise
    eva_split: EvaSplit = "original"  # HumanEva split of the eval sequences (see GanConfig.eva_split)
    data_root: str = ""  # folder with the dataset files (default: <log-dir>/data)

    def __post_init__(self) -> None:
        """Every value checked here, before anything is written (one line naming the field)."""
        registry.parse_id(self.dataset)
        _plain_id(self, "inference_id", "gan_id")
        weights = ("critic_weight", "smoothness_weight", "glide_weight", "consistency_weight")
        _at_least(self, 0.0, *weights)
        if max(getattr(self, w) for w in weights) <= 0:
            raise ConfigError(f"{', '.join(weights)}: all 0; at least one loss weight must be > 0")
        _positive(self, "tol", "maxiter", "scale_init")
        _float32(self, *weights, "scale_init")  # the objective runs in float32 (dtype float64 only on request)
        _at_least(self, 0, "max_sequences")
        _seed(self)
        if len(self.fast_iters) != 4 or min(self.fast_iters) < 0 or self.fast_iters[0] < 1:
            raise ConfigError(f"fast_iters {self.fast_iters}: expected 4 budgets (first solve >= 1, the others "
                              ">= 0)")


MAX_STEPS = 2**62  # the global step is a tf.int64
MAX_BATCH = 2**20  # poses per batch: more than twice Human3.6M's training frames
MAX_WIDTH = 2**16  # a latent or hidden size
F32_MAX, F32_TINY = 3.4028234e38, 1.1754944e-38  # float32's largest and smallest normal number


def _plain_id(cfg, *names: str) -> None:
    """An id names a run folder (``gan-<gan_id>``): a plain name, never a path."""
    for n in names:
        v = getattr(cfg, n)
        if "/" in v or "\\" in v or v.startswith(".") or any(not c.isprintable() for c in v):
            raise ConfigError(f"{n} {v!r}: must be a plain name (no '/', '\\', leading '.' or control "
                              "characters): it names the run folder")


def _at_most(cfg, high: int, *names: str) -> None:
    for n in names:
        if getattr(cfg, n) > high:
            raise ConfigError(f"{n} {getattr(cfg, n)}: must be <= {high}")


def _float32(cfg, *names: str) -> None:
    """One-line ConfigError for a value that float32 turns into inf, or a non-zero one that it flushes to (near) 0:
    the network would compute with something else than the config records."""
    for n in names:
        v = getattr(cfg, n)
        if abs(v) > F32_MAX or 0 < abs(v) < F32_TINY:
            raise ConfigError(f"{n} {v!r}: outside float32's range (0 or {F32_TINY:.3g} to {F32_MAX:.3g}), the "
                              "precision the model computes in")


def _positive(cfg, *names: str) -> None:
    """One-line ConfigError for the first of ``names`` that is not finite and > 0."""
    for n in names:
        v = getattr(cfg, n)
        if not (math.isfinite(v) and v > 0):
            raise ConfigError(f"{n} {v!r}: must be > 0" + ("" if math.isfinite(v) else " and finite"))


def _at_least(cfg, low: float, *names: str) -> None:
    """One-line ConfigError for the first of ``names`` that is not finite and >= ``low``."""
    for n in names:
        v = getattr(cfg, n)
        if not (math.isfinite(v) and v >= low):
            raise ConfigError(f"{n} {v!r}: must be >= {low:g} and finite")


def _fraction(cfg, *names: str) -> None:
    """One-line ConfigError for the first of ``names`` (a decay or momentum) outside [0, 1)."""
    for n in names:
        v = getattr(cfg, n)
        if not 0 <= v < 1:
            raise ConfigError(f"{n} {v!r}: must be in [0, 1)")


def _seed(cfg) -> None:
    if not 0 <= cfg.seed < 2**32:
        raise ConfigError(f"seed {cfg.seed}: must be in [0, 2**32)")


def config_path(kind: str, config_id: str) -> Path:
    """``configs/<kind>/<id>.yaml`` by name, or ``config_id`` itself when it is a YAML path (one-line error)."""
    return resolve_config_path(config_id, CONFIG_DIR / kind)


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
