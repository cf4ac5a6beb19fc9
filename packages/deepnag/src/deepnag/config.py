"""Every hyperparameter of a DeepNAG / DeepGAN run, in one dataclass.

Values come from the dataclass defaults (the original `options.py` defaults, deepnag.md §1.3), then from
`configs/<dataset>.yaml`, then from the command line (see `main.py`). The resolved config is printed at the
start of every run and saved as `config.yaml` in the run folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from motionkit.config import load_config
from motionkit.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PACKAGE_ROOT / "configs"

MODELS = ("DeepNAG", "DeepGAN")
DATASETS = ("dollar-gds", "jk2017-kinect", "synthetic-pen", "synthetic-kinect")
PRECISIONS = ("fp32", "bf16")


@dataclass
class Config:
    # --- what to run ------------------------------------------------------------------------------------
    model: str = "DeepNAG"  # DeepNAG | DeepGAN
    dataset: str = "synthetic-kinect"  # dollar-gds | jk2017-kinect | synthetic-pen | synthetic-kinect
    data_root: str | None = None  # folder of the real data set (or where the synthetic one is written)
    log_dir: str = "logs"  # runs go to <log_dir>/<run_name>/
    run_name: str | None = None  # default: <model>-<dataset> (so re-running the same command resumes)
    device: str | None = None  # default: cuda if available, else cpu
    seed: int = 1234
    use_tensorboard: bool = False

    # --- data (deepnag.md §3) ---------------------------------------------------------------------------
    resample_n: int = 64  # points per sequence after $1 equidistant resampling
    dollar_speed: str = "medium"  # $1-GDS: only the `medium` logs, pilot subject skipped
    # synthetic stand-ins: subjects x classes x repetitions
    synthetic_subjects: int = 10
    synthetic_repetitions: int = 10
    synthetic_seed: int = 0

    # --- model (deepnag.md §1.1, §2) --------------------------------------------------------------------
    latent_dim: int = 32
    generator_hidden: tuple[int, ...] = (128, 256, 512)
    critic_hidden: tuple[int, ...] = (512, 256, 128)

    # --- optimisation (deepnag.md §1.3) -----------------------------------------------------------------
    epochs: int = 25000  # DeepNAG: passes over the data; DeepGAN: generator steps (as in the original)
    batch_size: int = 64  # per process under DDP
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    # DeepNAG: "bf16" runs the generator's GRUs under a bfloat16 autocast (float32 head, loss and optimiser
    # state): ~2x faster steps on CPUs with AVX512-BF16/AMX and on CUDA; "fp32" is the original's arithmetic
    precision: str = "fp32"

    # --- DeepNAG loss (deepnag.md §1.2) -----------------------------------------------------------------
    sdtw_gamma: float = 0.1
    resample_weight: float = 1000.0  # weight of the equidistance MSE
    # the original divides the path length by T (not T-1 segments); True keeps that quirk
    resample_target_divides_by_t: bool = True

    # --- DeepGAN (deepnag.md §2) ------------------------------------------------------------------------
    critic_iters: int = 5
    gp_lambda: float = 10.0

    # --- bookkeeping ------------------------------------------------------------------------------------
    checkpoint_every: int = 10000  # epochs (DeepNAG) / generator steps (DeepGAN); the last one is always saved
    log_every: int = 1  # epochs (DeepNAG) / generator steps (DeepGAN)
    render_after_training: bool = True

    # --- evaluation -------------------------------------------------------------------------------------
    eval_samples_per_class: int = 16
    eval_seed: int = 0
    gif_classes: int = 6  # classes shown in the Kinect GIF (all classes appear in the still PNG)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"--model: unknown model {self.model!r} (choose from {', '.join(MODELS)})")
        if self.dataset not in DATASETS:
            raise ConfigError(f"--dataset: unknown data set {self.dataset!r} (choose from {', '.join(DATASETS)})")
        for name in ("epochs", "batch_size", "resample_n", "latent_dim", "critic_iters"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision: unknown {self.precision!r} (choose from {', '.join(PRECISIONS)})")
        if self.precision != "fp32" and self.model != "DeepNAG":
            raise ConfigError(f"--precision {self.precision} is implemented for DeepNAG only; DeepGAN trains in fp32")
        if self.resample_n < 3:
            raise ConfigError(f"resample_n must be >= 3, got {self.resample_n}")

    @property
    def is_pen(self) -> bool:
        return self.dataset in ("dollar-gds", "synthetic-pen")

    def resolved_run_name(self) -> str:
        return self.run_name or f"{self.model}-{self.dataset}"


def default_config_path(dataset: str) -> Path:
    return CONFIG_DIR / f"{dataset}.yaml"


def make_config(config_path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Defaults -> YAML (`configs/<dataset>.yaml` unless `config_path`) -> overrides (None = not given)."""
    overrides = dict(overrides or {})
    if config_path is None:
        dataset = overrides.get("dataset") or Config.dataset
        path = default_config_path(dataset)
        config_path = path if path.is_file() else None
    return load_config(Config, config_path, overrides)
