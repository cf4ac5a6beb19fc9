"""Every hyperparameter of a DeepNAG / DeepGAN run, in one dataclass.

Values come from the dataclass defaults (the original `options.py` defaults, deepnag.md §1.3), then from
`configs/<dataset>.yaml` (or `--config NAME|PATH`), then from the command line (see `main.py`; every field is a
flag, spelled as the original spells it where it had one). The resolved config is printed at the start of
every run and saved as `config.yaml` in the run folder. Each deliberate deviation from the original is a field
whose comment gives the reason; the original's behaviour is the default.
"""

from __future__ import annotations

import importlib.util
import os
import random
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from motionkit.config import load_config
from motionkit.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = PACKAGE_ROOT / "configs"

Model = Literal["DeepNAG", "DeepGAN"]
Dataset = Literal["dollar-gds", "jk2017-kinect", "synthetic-pen", "synthetic-kinect"]
Precision = Literal["fp32", "bf16"]
Speed = Literal["slow", "medium", "fast"]
BestRule = Literal["original", "highest-mean"]

MODELS: tuple[str, ...] = get_args(Model)
DATASETS: tuple[str, ...] = get_args(Dataset)
PRECISIONS: tuple[str, ...] = get_args(Precision)

MAX_SEED = 2**63  # seeds go to numpy (non-negative only) and torch (64-bit); rank offsets are added under DDP
# the original's default lengths (options.py): DeepNAG epochs, DeepGAN generator steps
DEFAULT_EPOCHS = {"DeepNAG": 25000, "DeepGAN": 150000}
# where the original looks for each real data set under --datapath
DATAPATH_SUBDIRS = {"dollar-gds": "dollar_gds", "jk2017-kinect": "jk2017"}


@dataclass
class Config:
    # --- what to run ------------------------------------------------------------------------------------
    model: Model = "DeepNAG"  # DeepNAG (soft-DTW loss) or DeepGAN (WGAN-GP baseline)
    # the original's default is dollar-gds; ours is the built-in synthetic set, so a bare command needs no download
    dataset: Dataset = "synthetic-kinect"  # data set to train on (--dataset-name is the original's spelling)
    datapath: str = "data"  # the original's data root: <datapath>/dollar_gds/xml_logs, <datapath>/jk2017/kinect
    data_root: str | None = None  # folder of the real data set itself (overrides --datapath; must exist)
    log_dir: str = "runs"  # runs go to <log_dir>/deepnag/<run name>/
    run_name: str | None = None  # run folder name (default <model>-<dataset>[-<experiment_name>])
    experiment_name: str | None = None  # optional name appended to the run folder's name, as the original
    device: str | None = None  # cpu, cuda, cuda:1 ... (default: cuda if available, else cpu)
    seed: int = 1234  # random seed; -1 draws a random one (printed and saved in the run's config.yaml)
    use_tensorboard: bool = False  # write TensorBoard events (loss_train, best_loss_train, figures) to tb/

    # --- data (deepnag.md §3) ---------------------------------------------------------------------------
    resample_n: int = 64  # the number of equidistant points every sample is resampled to
    dollar_speed: Speed = "medium"  # $1-GDS speed folder to read (the original: medium; the pilot is skipped)
    synthetic_subjects: int = 10  # synthetic sets: number of subjects
    synthetic_repetitions: int = 10  # synthetic sets: repetitions per subject and class
    synthetic_seed: int = 0  # synthetic sets: generator seed

    # --- model (deepnag.md §1.1, §2) --------------------------------------------------------------------
    latent_dim: int = 32  # latent (noise) dimension per time step
    generator_hidden: tuple[int, ...] = (128, 256, 512)  # hidden sizes of the generator's three GRUs
    critic_hidden: tuple[int, ...] = (512, 256, 128)  # hidden sizes of DeepGAN's critic GRUs

    # --- optimisation (deepnag.md §1.3) -----------------------------------------------------------------
    epochs: int | None = None  # DeepNAG: epochs; DeepGAN: generator steps (default 25000 / 150000, as the original)
    batch_size: int = 64  # batch size (per process under DDP)
    lr: float = 1e-4  # Adam's learning rate
    beta0: float = 0.5  # Adam's first beta (the original's name)
    beta1: float = 0.9  # Adam's second beta (the original's name)
    # bf16 runs the generator's GRUs under a bfloat16 autocast (float32 head, loss and optimiser state): ~2x
    # faster steps on CPUs with AVX512-BF16/AMX and on CUDA; fp32 is the original's arithmetic
    precision: Precision = "fp32"  # DeepNAG generator arithmetic

    # --- DeepNAG loss (deepnag.md §1.2) -----------------------------------------------------------------
    sdtw_gamma: float = 0.1  # soft-DTW smoothing gamma
    resample_weight: float = 1000.0  # weight of the equidistance MSE term
    # the original divides the path length by T (not by the T-1 segments); False uses T-1
    resample_target_divides_by_t: bool = True  # keep the original's equidistance target pathlength / T

    # --- DeepGAN (deepnag.md §2) ------------------------------------------------------------------------
    critic_iters: int = 5  # critic updates per generator step (--deepgan-critic-iters)
    gp_lambda: float = 10.0  # WGAN-GP gradient penalty weight (--deepgan-lambda)
    # "original": the lowest neg_loss_d of the last critic iteration (the original's ModelBase keeps the minimum
    # of its metric); "highest-mean": the highest mean -critic loss over the step's critic iterations, the rule
    # this package used before (a larger -critic loss means a critic that separates real from fake better)
    deepgan_best: BestRule = "original"  # which DeepGAN step is saved as best.pt

    # --- bookkeeping ------------------------------------------------------------------------------------
    checkpoint_every: int = 10000  # epochs / generator steps between checkpoints (--checkpoint-frequency; 0: end only)
    # 0 keeps every checkpoint, as the original; N keeps the newest N (saves disk on long runs)
    keep_checkpoints: int = 0  # numbered checkpoints kept (0 = all)
    vis_frequency: int = 100  # epochs between constant-latent figures in TensorBoard (0: none)
    log_every: int = 1  # epochs (DeepNAG) / generator steps (DeepGAN) between metrics.jsonl rows
    render_after_training: bool = True  # render samples into the run folder at the end

    # --- evaluation -------------------------------------------------------------------------------------
    eval_samples_per_class: int = 16  # generated samples per class for the metrics and pen renders
    eval_seed: int = 0  # seed of the latents drawn by --evaluate / sample
    gif_classes: int = 6  # classes shown in the Kinect GIF (all classes appear in the still PNG)

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ConfigError(f"--model: unknown model {self.model!r} (choose from {', '.join(MODELS)})")
        if self.dataset not in DATASETS:
            raise ConfigError(f"--dataset: unknown data set {self.dataset!r} (choose from {', '.join(DATASETS)})")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"--precision: unknown {self.precision!r} (choose from {', '.join(PRECISIONS)})")
        if self.epochs is None:
            self.epochs = DEFAULT_EPOCHS[self.model]
        if not -1 <= self.seed < MAX_SEED:
            raise ConfigError(f"--seed must be -1 (random) or in [0, 2**63), got {self.seed}")
        if self.seed == -1:
            self.seed = random_seed()
        for name in ("synthetic_seed", "eval_seed"):  # numpy's generators take no negative seed
            if not 0 <= getattr(self, name) < MAX_SEED:
                raise ConfigError(f"--{name.replace('_', '-')} must be in [0, 2**63), got {getattr(self, name)}")
        for name in ("epochs", "batch_size", "resample_n", "latent_dim", "critic_iters"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for name in ("checkpoint_every", "keep_checkpoints", "vis_frequency"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
        for name in ("lr", "sdtw_gamma"):
            if not 0 < getattr(self, name) < float("inf"):
                raise ConfigError(f"--{name.replace('_', '-')} must be a positive finite number, "
                                  f"got {getattr(self, name)}")
        for name in ("resample_weight", "gp_lambda"):
            if not 0 <= getattr(self, name) < float("inf"):
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0 and finite, got {getattr(self, name)}")
        for name in ("beta0", "beta1"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(f"--{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("generator_hidden", "critic_hidden"):
            sizes = tuple(getattr(self, name))
            if len(sizes) < 1 or min(sizes) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be one or more sizes >= 1, got {sizes}")
        for name in ("log_every", "eval_samples_per_class", "gif_classes", "synthetic_subjects",
                     "synthetic_repetitions"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if self.precision != "fp32" and self.model != "DeepNAG":
            raise ConfigError(f"--precision {self.precision} is implemented for DeepNAG only; DeepGAN trains in fp32")
        if self.resample_n < 3:
            raise ConfigError(f"--resample-n must be >= 3, got {self.resample_n}")
        if self.use_tensorboard and importlib.util.find_spec("tensorboardX") is None:
            raise ConfigError("--use-tensorboard=1 needs tensorboardX: pip install -e 'packages/deepnag[tensorboard]' "
                              "(or pip install tensorboardX)")
        if self.experiment_name is not None:
            self.experiment_name = self.experiment_name.replace(" ", "-")  # as the original
        for name in ("run_name", "experiment_name"):  # a folder name under <log_dir>/deepnag, never a path
            value = getattr(self, name)
            if value is not None and (value in (".", "..") or "/" in value or "\\" in value or "\0" in value):
                raise ConfigError(f"--{name.replace('_', '-')} {value!r}: must be a plain folder name (no '/', "
                                  "'\\', '.' or '..'); the run folder is <log-dir>/deepnag/<run name>")

    @property
    def is_pen(self) -> bool:
        return self.dataset in ("dollar-gds", "synthetic-pen")

    def resolved_run_name(self) -> str:
        name = self.run_name or f"{self.model}-{self.dataset}"
        return f"{name}-{self.experiment_name}" if self.experiment_name and not self.run_name else name


def random_seed() -> int:
    """A random seed for `--seed -1`. Under torchrun every rank derives the same one from the run id."""
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if run_id and os.environ.get("WORLD_SIZE", "1") != "1":
        return zlib.crc32(run_id.encode()) % (2**31)
    return random.SystemRandom().randrange(2**31)


def default_config_path(dataset: str) -> Path:
    return CONFIG_DIR / f"{dataset}.yaml"


def make_config(config_path: str | Path | None = None, overrides: dict | None = None) -> Config:
    """Defaults -> YAML (`configs/<dataset>.yaml` unless `config_path`) -> overrides (None = not given)."""
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    if config_path is None:
        dataset = overrides.get("dataset") or Config.dataset
        path = default_config_path(dataset)
        config_path = path if path.is_file() else None
    return load_config(Config, config_path, overrides)
