"""Every hyperparameter of Diverse Sampling in one dataclass.

Values come from the dataclass defaults (the paper's H36M t1 setting), then ``configs/<exp_name>.yaml``, then
command-line overrides (every field is a flag: ``--batch_size 8`` or ``--batch-size 8``); the result is checked
when it is built (``__post_init__``: one line naming the bad value) and printed at the start of a run. Names
follow the original code where it had one (``nk``, ``t_his``, ``dct_n``...).

Defaults are the original code's behaviour, including its quirks (paper notes section 9); each deliberate
deviation is a switch with its reason beside it, and the ``*_corrected`` configs turn them on.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from motionkit.errors import ConfigError

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
PACKAGE = "diverse_sampling"
DATA_FILES = {"h36m": "data_3d_h36m.npz", "humaneva": "data_3d_humaneva15.npz"}
ORIGINAL_DATA_DIR = "dataset"  # the original repository's ./dataset folder
MAX_SEED = 2**46  # train.py seeds torch with seed * 100003 + epoch * 101 + rank, which must fit in 64 bits


@dataclass
class Config:
    # ---- experiment -------------------------------------------------------------------------------------
    exp_name: str = "h36m_t1"  # the original's experiment name; also picks configs/<exp_name>.yaml
    stage: Literal["t1", "t2"] = "t1"  # t1: the CVAE; t2: the DiverseSampling sampler on the frozen CVAE
    dataset: Literal["h36m", "humaneva"] = "h36m"  # file name, skeleton, angle definitions, action labels
    data_root: str = ""  # folder of data_3d_*.npz; "" -> ./dataset if it holds it, else runs/diverse_sampling/data/<ds>
    derived_dir: str = ""  # where our candidate pool / valid angles are cached; "" -> <data_root>/derived
    run_name: str = ""  # run folder name under <log_dir>/diverse_sampling; "" -> exp_name
    log_dir: str = "runs"  # root of every run folder
    device: str = ""  # cpu, cuda, cuda:N; "" -> cuda if available else cpu
    seed: int = 0  # random seed (every DDP rank adds its rank)
    tensorboard: bool = True  # also write TensorBoard events under <run>/tb

    # ---- data (notes section 1) ---------------------------------------------------------------------------
    t_his: int = 25  # observed frames (25 = 0.5 s at 50 Hz on H36M; 15 on HumanEva)
    t_pred: int = 100  # predicted frames (100 = 2 s on H36M; 60 on HumanEva)
    train_subjects: list[str] = field(default_factory=lambda: ["S1", "S5", "S6", "S7", "S8"])  # training subjects
    test_subjects: list[str] = field(default_factory=lambda: ["S9", "S11"])  # test subjects (file keys)
    exclude_takes: list[str] = field(default_factory=list)  # "subject/action" keys dropped when present
    strict_exclusions: bool = False  # True: a listed take missing from the file is an error (original, bug 9)
    windows_per_epoch: int = 5000  # "sub_len_train": random training windows per epoch
    test_stride: int = 0  # 0 -> t_his (the original)
    max_test_windows: int = 0  # 0 -> all test windows; >0 keeps the first N (quick evaluations)
    mm_threshold: float = 0.5  # multimodal GT: L2 between last observed poses below this
    mm_retarget: bool = True  # DS retargets borrowed futures to the window's bone lengths (quirk 6)
    # Original: a window without multimodal neighbour adds 0 yet counts (H36M metrics ~1.4 % low); 0: all count.
    legacy_skip_lonely_windows: bool = True  # skip windows without neighbours but count them (the original)
    fid_acc_skip_lonely: bool = False  # FID/ACC skip (but count) lonely windows: the original's HumanEva loop
    pool_stride: int = 20  # candidate pool ("skiprate")
    pool_thre_his: float = 0.5  # GSPS history test: mean per-joint distance of last observed frame <= this
    pool_thre_pred: float = 0.1  # GSPS future test: mean per-joint distance over the future >= this
    pool_dlow_filter: float = 0.5  # our guess at "filtered_dlow" (quirk 12): L2 of last pose < this; 0 = off
    pseudo_future_prob: float = 0.2  # t1: chance to replace a window's future by a candidate's
    use_authors_files: bool = True  # read the authors' pool/index/valid-angle files when in data_root, else rebuild

    # ---- model (notes sections 2 and 3) ---------------------------------------------------------------------
    dct_n: int = 10  # DCT coefficients kept per coordinate
    hidden_dim: int = 256  # GCN width of the CVAE and the sampler's history encoder
    z_dim: int = 64  # latent size of the CVAE
    cvae_enc_blocks: int = 4  # residual GCN blocks after the first block
    cvae_dec_blocks: int = 4  # residual GCN blocks of the CVAE decoder
    dropout: float = 0.0  # dropout after every GCN block (0 in the original)
    sampler_enc_blocks: int = 2  # residual GCN blocks of the sampler's history encoder
    n_bases: int = 40  # M
    base_dim: int = 128  # auxiliary-space dimension
    ngamma_hidden: int = 64  # hidden width of the N_gamma MLPs (mean and logvar heads)
    nk: int = 50  # K samples per input
    tau: float = 0.85  # Gumbel-Softmax temperature (quirk 3: code 0.85, poster 1.0)

    # ---- optimisation (both stages) --------------------------------------------------------------------------
    batch_size: int = 64  # windows per batch (t2: each decodes nk futures)
    epochs: int = 2000  # epochs (2000 for t1, 1500 for t2 in the original)
    lr: float = 1e-3  # Adam learning rate
    lr_fix_epochs: int = 100  # LR constant for this many epochs, then linear decay towards 0
    grad_clip: float = 100.0  # 0 = no clipping (t2)
    eval_every: int = 20  # validation on the test set every N epochs and at the end; 0 = never
    save_every: int = 50  # checkpoint every N epochs (and at the end)
    num_workers: int = 0  # DataLoader worker processes

    # ---- t1 losses (notes 2.4) -------------------------------------------------------------------------
    w_recons: float = 1.0  # t1 weight of the future reconstruction error
    w_vec: float = 1000.0  # t1 weight of the continuity term (last observed vs first predicted frame)
    w_kl: float = 0.5  # t1 weight of the KL term (0.5 H36M, 0.05 HumanEva)
    w_his: float = 100.0  # t1 weight of the history-recovery term (see legacy_recoverhis_bug)
    w_limb: float = 1000.0  # t1 weight of the limb-length term
    w_angle: float = 100.0  # t1 weight of the GSPS valid-angle term (0 = off)
    # The original (and its released models) adds recoverhis + w_his to the total: effective weight 1, not 100.
    legacy_recoverhis_bug: bool = True  # add w_his instead of multiplying (the original); 0: multiply, as intended
    valid_angle_file: str = ""  # GSPS bounds .p/.json; "" -> <data_root>/<ds>_valid_angle.p if there, else ours

    # ---- t2 losses (notes 3.2) ------------------------------------------------------------------------------
    t1_checkpoint: str = ""  # t2's CVAE: .pt/.pth or run name; "" -> ckpt/pretrained/<ds>_t1.pth, else run <ds>_t1
    t2_w_kl: float = 0.5  # t2 weight of the KL term (0.5 H36M, 0.1 HumanEva)
    t2_w_acc: float = 40.0  # t2 weight of the best-of-K accuracy term (40 H36M, 25 HumanEva)
    t2_w_div: float = 20.0  # t2 weight of the hinge diversity term (20 H36M, 100 HumanEva)
    eta: float = 25.0  # hinge threshold "minthreshold"
    t2_acc_squared: bool = True  # quirk 4: code uses squared error; poster formula plain L2
    share_eps_train: bool = True  # quirk 2: one eps shared by the K samples in training (Algorithm 1)
    share_eps_eval: bool = False  # quirk 2: evaluation draws independent eps per sample (original)

    # ---- action classifier for FID / ACC (notes section 4) -------------------------------------------------
    cls_hidden: int = 128  # classifier GRU width
    cls_layers: int = 2  # classifier GRU layers
    cls_feat: int = 30  # classifier feature size (the FID features)
    cls_epochs: int = 30  # classifier training epochs
    cls_batch: int = 64  # classifier batch size
    cls_lr: float = 1e-3  # classifier Adam learning rate
    cls_windows_per_epoch: int = 5000  # classifier training windows per epoch
    # The original draws the classifier GRU's initial state from N(0, 1) on every call, so FID/ACC vary by run.
    classifier_random_h0: bool = True  # random GRU state per call (the original); 0: zeros, deterministic FID/ACC
    classifier_checkpoint: str = ""  # .pt/.pth or run; "" -> ckpt/classifier/<ds>_classifier.pth, else that run

    # ---- renders ----------------------------------------------------------------------------------------------
    render_samples: int = 10  # futures drawn in the overlay plot / GIF

    # ------------------------------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        """Check every value once, when the config is built: a bad one is a one-line ConfigError."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} = {value}: must be a finite number")
        _choice("stage", self.stage, ("t1", "t2"))
        _choice("dataset", self.dataset, tuple(DATA_FILES))
        if not re.fullmatch(r"|auto|cpu|cuda(:\d+)?|mps", self.device.strip()):
            raise ConfigError(f"device {self.device!r}: expected cpu, cuda, cuda:N or empty (auto)")
        for name in ("t_his", "t_pred", "dct_n", "hidden_dim", "z_dim", "n_bases", "base_dim", "epochs",
                     "windows_per_epoch", "ngamma_hidden", "cls_hidden", "cls_layers", "cls_feat", "cls_batch",
                     "cls_epochs", "cls_windows_per_epoch", "pool_stride", "render_samples"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} = {getattr(self, name)}: must be at least 1")
        if self.nk < 2:
            raise ConfigError(f"nk = {self.nk}: diversity (APD, the hinge loss) needs at least 2 samples")
        if self.batch_size < 2:
            raise ConfigError(f"batch_size = {self.batch_size}: BatchNorm needs at least 2 windows per batch")
        if self.windows_per_epoch < self.batch_size:
            raise ConfigError(f"windows_per_epoch = {self.windows_per_epoch} is below batch_size = "
                              f"{self.batch_size}: an epoch would train nothing")
        if self.cls_windows_per_epoch < self.cls_batch:
            raise ConfigError(f"cls_windows_per_epoch = {self.cls_windows_per_epoch} is below cls_batch = "
                              f"{self.cls_batch}: a classifier epoch would train nothing")
        if self.dct_n > self.t_total:
            raise ConfigError(f"dct_n = {self.dct_n}: at most t_his + t_pred = {self.t_total} coefficients")
        for name in ("pseudo_future_prob", "dropout"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} = {getattr(self, name)}: must lie in [0, 1]")
        for name in ("tau", "mm_threshold", "lr", "cls_lr"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} = {getattr(self, name)}: must be positive")
        for name in ("lr_fix_epochs", "eval_every", "save_every", "max_test_windows", "test_stride", "grad_clip",
                     "cvae_enc_blocks", "cvae_dec_blocks", "sampler_enc_blocks", "seed", "num_workers", "eta",
                     "pool_thre_his", "pool_thre_pred", "pool_dlow_filter", "w_recons", "w_vec", "w_kl", "w_his",
                     "w_limb", "w_angle", "t2_w_kl", "t2_w_acc", "t2_w_div"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} = {getattr(self, name)}: must not be negative")
        if self.seed >= MAX_SEED:
            raise ConfigError(f"seed = {self.seed}: must be below 2**46 = {MAX_SEED} (each epoch seeds torch with "
                              "seed * 100003 + ..., a 64-bit number)")
        for name in ("run_name", "exp_name"):  # the run folder's name under <log_dir>/diverse_sampling, not a path
            value = getattr(self, name)
            if value in (".", "..") or any(c in value for c in "/\\\0"):
                raise ConfigError(f"{name} {value!r}: must be a plain name (no '/', '\\', '.' or '..'); runs go to "
                                  "<log_dir>/diverse_sampling/<run_name or exp_name>")
        if not self.exp_name:
            raise ConfigError("exp_name is empty: it names the run folder and the released checkpoint")
        for key in self.exclude_takes:
            subject, _, action = str(key).rpartition("/")
            if not subject or not action:
                raise ConfigError(f"exclude_takes entry {key!r}: expected '<subject>/<action>' (e.g. 'S11/Directions')")
        if not self.train_subjects or not self.test_subjects:
            raise ConfigError("train_subjects and test_subjects must each name at least one subject")
        if not self.data_root:
            self.data_root = default_data_root(self.dataset)

    def resolved_run_name(self) -> str:
        return self.run_name or self.exp_name

    def runs_root(self) -> Path:
        """``<log_dir>/diverse_sampling``: where every run folder of this package lives."""
        return Path(self.log_dir) / PACKAGE

    def resolved_derived_dir(self) -> Path:
        return Path(self.derived_dir) if self.derived_dir else Path(self.data_root) / "derived"

    @property
    def t_total(self) -> int:
        return self.t_his + self.t_pred

    @property
    def stride(self) -> int:
        return self.test_stride or self.t_his


def _choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{name} {value!r} is not one of {', '.join(map(repr, choices))}")


def default_data_root(dataset: str) -> str:
    """``./dataset`` when it holds the data set's file (the original's layout), else our synthetic data folder."""
    if (Path(ORIGINAL_DATA_DIR) / DATA_FILES[dataset]).is_file():
        return ORIGINAL_DATA_DIR
    return f"runs/{PACKAGE}/data/{dataset}"
