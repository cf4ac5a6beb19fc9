"""Every hyperparameter of Diverse Sampling in one dataclass.

Values come from the dataclass defaults (the paper's H36M t1 setting), then ``configs/<exp_name>.yaml``, then
command-line overrides. Names follow the original code where it had one (``nk``, ``t_his``, ``dct_n``...).
The switches under "quirks of the original code" (paper notes section 9) default to the faithful-but-fixed
behaviour; set them to reproduce the original exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


@dataclass
class Config:
    # ---- experiment -------------------------------------------------------------------------------------
    exp_name: str = "h36m_t1"
    stage: str = "t1"  # t1 (CVAE) | t2 (DiverseSampling sampler)
    dataset: str = "h36m"  # h36m | humaneva (selects file name, skeleton, angle definitions, labels)
    data_root: str = "runs/diverse_sampling/data/h36m"  # folder holding data_3d_h36m.npz / data_3d_humaneva15.npz
    derived_dir: str = ""  # where candidate pool / index / valid angles are cached; "" -> <data_root>/derived
    run_dir: str = ""  # "" -> runs/diverse_sampling/<exp_name>
    device: str = ""  # "" -> cuda if available else cpu
    seed: int = 0

    # ---- data (notes section 1) ---------------------------------------------------------------------------
    t_his: int = 25
    t_pred: int = 100
    train_subjects: list[str] = field(default_factory=lambda: ["S1", "S5", "S6", "S7", "S8"])
    test_subjects: list[str] = field(default_factory=lambda: ["S9", "S11"])
    exclude_takes: list[str] = field(default_factory=list)  # "subject/action" keys dropped when present
    strict_exclusions: bool = False  # True: a listed take missing from the file is an error (original, bug 9)
    windows_per_epoch: int = 5000  # "sub_len_train": random training windows per epoch
    test_stride: int = 0  # 0 -> t_his (the original)
    max_test_windows: int = 0  # 0 -> all test windows; >0 keeps the first N (quick evaluations)
    mm_threshold: float = 0.5  # multimodal GT: L2 between last observed poses below this
    mm_retarget: bool = True  # DS retargets borrowed futures to the window's bone lengths (quirk 6)
    legacy_skip_lonely_windows: bool = False  # quirk 5: skip windows without neighbours but count them
    pool_stride: int = 20  # candidate pool ("skiprate")
    pool_thre_his: float = 0.5  # GSPS history test: mean per-joint distance of last observed frame <= this
    pool_thre_pred: float = 0.1  # GSPS future test: mean per-joint distance over the future >= this
    pool_dlow_filter: float = 0.5  # our guess at "filtered_dlow" (quirk 12): L2 of last pose < this; 0 = off
    pseudo_future_prob: float = 0.2  # t1: chance to replace a window's future by a candidate's
    use_authors_files: bool = True  # read the authors' pool/index/valid-angle files when in data_root, else rebuild

    # ---- model (notes sections 2 and 3) ---------------------------------------------------------------------
    dct_n: int = 10
    hidden_dim: int = 256
    z_dim: int = 64
    cvae_enc_blocks: int = 4  # residual GCN blocks after the first block
    cvae_dec_blocks: int = 4
    dropout: float = 0.0
    sampler_enc_blocks: int = 2
    n_bases: int = 40  # M
    base_dim: int = 128  # auxiliary-space dimension
    ngamma_hidden: int = 64
    nk: int = 50  # K samples per input
    tau: float = 0.85  # Gumbel-Softmax temperature (quirk 3: code 0.85, poster 1.0)

    # ---- optimisation (both stages) --------------------------------------------------------------------------
    batch_size: int = 64
    epochs: int = 2000
    lr: float = 1e-3
    lr_fix_epochs: int = 100  # LR constant for this many epochs, then linear decay towards 0
    grad_clip: float = 100.0  # 0 = no clipping (t2)
    eval_every: int = 20
    save_every: int = 50
    num_workers: int = 0

    # ---- t1 losses (notes 2.4) -------------------------------------------------------------------------
    w_recons: float = 1.0
    w_vec: float = 1000.0
    w_kl: float = 0.5
    w_his: float = 100.0
    w_limb: float = 1000.0
    w_angle: float = 100.0
    legacy_recoverhis_bug: bool = False  # quirk 1: original adds 100 to the loss instead of multiplying
    valid_angle_file: str = ""  # "" -> bounds computed from the training data by our code

    # ---- t2 losses (notes 3.2) ------------------------------------------------------------------------------
    t1_checkpoint: str = ""  # "" -> runs/diverse_sampling/<dataset>_t1/last.pt
    t2_w_kl: float = 0.5
    t2_w_acc: float = 40.0
    t2_w_div: float = 20.0
    eta: float = 25.0  # hinge threshold "minthreshold"
    t2_acc_squared: bool = True  # quirk 4: code uses squared error; poster formula plain L2
    share_eps_train: bool = True  # quirk 2: one eps shared by the K samples in training (Algorithm 1)
    share_eps_eval: bool = False  # quirk 2: evaluation draws independent eps per sample (original)

    # ---- action classifier for FID / ACC (notes section 4) -------------------------------------------------
    cls_hidden: int = 128
    cls_layers: int = 2
    cls_feat: int = 30
    cls_epochs: int = 30
    cls_batch: int = 64
    cls_lr: float = 1e-3
    cls_windows_per_epoch: int = 5000
    classifier_random_h0: bool = False  # quirk 8: original draws the GRU's initial state from N(0,1) per call
    classifier_checkpoint: str = ""  # "" -> runs/diverse_sampling/<dataset>_classifier/last.pt

    # ---- renders ----------------------------------------------------------------------------------------------
    render_samples: int = 10  # futures drawn in the overlay plot / GIF

    # ------------------------------------------------------------------------------------------------------------
    def resolved_run_dir(self) -> Path:
        return Path(self.run_dir or f"runs/diverse_sampling/{self.exp_name}")

    def resolved_derived_dir(self) -> Path:
        return Path(self.derived_dir) if self.derived_dir else Path(self.data_root) / "derived"

    def resolved_t1_checkpoint(self) -> Path:
        return Path(self.t1_checkpoint or f"runs/diverse_sampling/{self.dataset}_t1/last.pt")

    def resolved_classifier_checkpoint(self) -> Path:
        return Path(self.classifier_checkpoint or f"runs/diverse_sampling/{self.dataset}_classifier/last.pt")

    @property
    def t_total(self) -> int:
        return self.t_his + self.t_pred

    @property
    def stride(self) -> int:
        return self.test_stride or self.t_his
