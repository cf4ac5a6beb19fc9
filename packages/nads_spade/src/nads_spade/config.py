"""Every hyperparameter of both networks, both trainers, the data and the experiment.

YAML keys and CLI flags use the original project's option names where it had one (print_freq, save_latest_freq,
save_epoch_freq, display_freq, arm_augment_type, lambda_*, niter, no_TTUR ...; ``main.py`` adds the names of its
train.py variables as aliases). Defaults are the project's code at HEAD; each deliberate deviation is a switch
here with the reason beside it (``*_bug: true`` reproduces a bug of the original, the default fixes it). Every
value is checked when the config is built (``__post_init__``): a bad one is a one-line error before any work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from motionkit.errors import ConfigError

FLOAT32_MAX = 3.4e38  # learning rates beyond this cannot be applied to float32 weights
SEED_LIMIT = 2**62  # torch.manual_seed takes 64-bit seeds; every rank adds its number


@dataclass
class Config:
    # --- run ---------------------------------------------------------------------------------------------------
    name: str = "nads_spade"        # the setting's name; default run names are <name>-gan, <name>-nads
    log_dir: str = "runs"           # run folders are <log_dir>/nads_spade/<run_name>[-2, -3 ...]
    run_name: str = ""              # "" = <name>-gan (train-gan), <name>-nads (train-nads), <name>-experiment
    seed: int = 0                   # every process seeds with seed + rank
    device: str = "auto"            # auto = cuda if available else cpu
    gan_device: str = ""            # the original put G+D on one GPU ...
    net_device: str = ""            # ... and the (frozen) NADS-Net on another; "" = device
    num_workers: int = 0            # DataLoader workers (the project's num_dataloader_threads: 10)
    num_threads: int = 0            # torch CPU threads (0 = torch's choice; 1 is far faster on a busy 2-core CPU)
    deterministic: bool = True      # deterministic torch kernels where they exist

    # --- data ----------------------------------------------------------------------------------------------------
    data_format: Literal["original", "coco"] = "original"  # the project's layout (a) | COCO keypoints (b)
    train_root: str = "datasets/cache/nads_synthetic/train"  # format (a) folder of the training split
    val_root: str = "datasets/cache/nads_synthetic/val"  # format (a) folder of the validation split
    test_root: str = "datasets/cache/nads_synthetic/test_wide"  # format (a) folder of the test split (evaluate)
    coco_train_json: str = ""       # person_keypoints_*.json (format b); images in coco_*_images
    coco_train_images: str = ""     # image folder of coco_train_json
    coco_val_json: str = ""         # COCO file of the validation split
    coco_val_images: str = ""       # image folder of coco_val_json
    image_size: int = 384           # network input (the paper's 384x384, non-uniform resize of 1920x1080)
    max_people: int = 0             # 0 = keep every annotated person (the project); N = refuse images with more
    max_samples: int = 0            # 0 = all

    # --- synthetic in-cabin renderer (make-synthetic) ---------------------------------------------------------------
    synthetic_root: str = "datasets/cache/nads_synthetic"  # make-synthetic writes train/, val/, test_wide/ here
    synthetic_width: int = 640      # written frame size (16:9 like the original 1920x1080 frames)
    synthetic_height: int = 360     # written frame height
    synthetic_train: int = 64       # frames of the train split (narrow arm poses)
    synthetic_val: int = 16         # frames of the val split (narrow arm poses)
    synthetic_test: int = 16        # frames of the test_wide split (raised/stretched arms)
    synthetic_passenger_prob: float = 0.3  # probability of a second (passenger) person

    # --- labels (section 6 of the notes) ------------------------------------------------------------------------------
    sigma: float = 7.0              # Gaussian sigma in px at 384 (scaled by image_size/384)
    paf_width_cells: float = 1.0    # PAF half-width in map cells (+-4 px at 96^2, +-1 px at 384^2)
    heatmap_background: bool = False  # add the optional background channel (10 heat channels)
    # original: belt target = resized mask /255 then astype(uint8) -> only exact 255 pixels survive (eroded)
    belt_threshold_bug: bool = False  # true: the project's eroded belt target

    # --- NADS-Net --------------------------------------------------------------------------------------------------
    pvt_embed_dims: list[int] = field(default_factory=lambda: [64, 128, 320, 512])  # PVT-tiny stage widths
    pvt_num_heads: list[int] = field(default_factory=lambda: [1, 2, 5, 8])  # attention heads per stage
    pvt_mlp_ratios: list[int] = field(default_factory=lambda: [8, 8, 4, 4])  # MLP width / stage width
    pvt_depths: list[int] = field(default_factory=lambda: [2, 2, 2, 2])  # blocks per stage
    pvt_sr_ratios: list[int] = field(default_factory=lambda: [8, 4, 2, 1])  # spatial reduction of keys/values
    pvt_drop_path: float = 0.1      # stochastic depth (official PVT 0.1; the project's pvt_tiny() 0)
    # official: embeddings at the 224 grid, resized (whai362/PVT); project: learned on the input grid, as the
    # project's PVT/pvt.py (needed for its traditionally_trained_NADS_Net_with_PVT.pth; drop-path 0 there)
    pvt_variant: Literal["official", "project"] = "official"  # official (whai362) | project (its weights)
    pvt_pretrained: str = ""        # path to the official pvt_tiny.pth (never downloaded)
    fpn_channels: int = 256         # FPN width
    # standard FPN (Lin et al.) | original: the project's (P4 = L4, each level adds only the coarser *lateral*;
    # needed for its weights)
    fpn_wiring: Literal["standard", "original"] = "standard"  # standard | original (the project's)
    head_channels: int = 128        # two_conv width; map branch 4h -> 4h -> 2h, belt branch 4h -> h -> h/4

    # --- NADS-Net training (train-nads) ------------------------------------------------------------------------
    # start from a pretrained NADS-Net (the project's start_from_pretrained/pretrained_filename): our checkpoint
    # or its traditionally_trained_NADS_Net_with_PVT.pth; "" = from scratch (or from pvt_pretrained)
    nads_init: str = ""  # NADS-Net to start from
    nads_epochs: int = 100          # the project's num_training_epochs
    nads_batch_size: int = 4        # the project's batch_size (4, with GAN augmentation)
    nads_lr: float = 1e-5           # the project's starting_lr
    nads_optimizer: Literal["sgd", "adam"] = "sgd"  # sgd (project) | adam (CPU demos: from scratch in minutes)
    nads_momentum: float = 0.9      # SGD momentum
    nads_weight_decay: float = 5e-7  # the project's weight_decay
    # metric-based: ReduceLROnPlateau(lr_gamma, patience) on the validation loss; fixed: StepLR(step_size, lr_gamma)
    lr_schedule_type: Literal["metric-based", "fixed"] = "metric-based"  # the project's lr_schedule_type
    plateau_factor: float = 0.8     # the project's lr_gamma
    plateau_patience: int = 4       # epochs without improvement before the lr drops (metric-based)
    step_size: int = 20             # epochs between lr drops (fixed)
    lambda_belt: float = 500.0      # NADS loss = heat MSE + PAF MSE + 500 * DiceBCE(belt)
    # the project's BCE is on the probability: once the belt output saturates at 0 there is no gradient left,
    # and Adam 1e-3 saturated it within ~25 steps at 64 px (measured); true: BCE-with-logits (deviation)
    belt_bce_logits: bool = False   # true: belt BCE from logits
    max_steps: int = 0              # stop after this many optimiser steps (0 = run all epochs); for tests/demos
    gan_augment: bool = False       # paint half of each batch with the frozen generator
    gan_checkpoint: str = ""        # G for --gan_augment: ours or latest_net_G.pth ("" = latest <name>-gan run)
    arm_augment_type: Literal["slightly", "highly"] = "slightly"  # the project's default (fewer artefacts)
    arm_min_torso_px: float = 70.0  # arms of people with torso > this (px at 384) are augmented (front row)
    # original: torso = mean(|neck-Rhip|, |neck-Rhip|) (same distance twice); fixed: mean over both hips
    torso_bug: bool = False  # true: the project's torso length
    # 'highly' as the project: new bone lengths |clip(N(0.7L, 0.2L), 0.1L, L)| and joints clipped to the image
    # ('sample'); 'keep' (deviation): the person's own bone lengths, directions redrawn until the arm fits, so
    # painted arms are neither shortened nor squashed against the border
    arm_length_mode: Literal["sample", "keep"] = "sample"  # sample (project) | keep
    # original: `original_joints = joints` aliased the labels, so the "un-augmented" half got augmented labels
    alias_bug: bool = False  # true: every label augmented, as the project
    # original: only labels[B//2:-1] were reset to the un-augmented poses, so the last (real) sample kept the
    # augmented labels while its image stayed real (when alias_bug is off)
    half_slice_bug: bool = False  # true: the project's [B//2:-1] slice
    # original mixed tanh [-1,1] fakes into an ImageNet-normalised batch; fixed: (x+1)/2 then ImageNet mean/std
    fake_norm_bug: bool = False  # true: raw tanh fakes, as the project
    geo_augment: bool = True        # joint random resize (s_h, s_w in geo_scales) + translate
    geo_scales: list[float] = field(default_factory=lambda: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])  # s_h, s_w
    geo_fill: float = 0.0           # canvas fill in normalised space; the original filled 128 (a bug there)

    # --- SPADE generator / discriminator ----------------------------------------------------------------------------
    label_nc: int = 26              # 9 heatmaps + 16 PAF + 1 belt
    ngf: int = 64                   # generator width
    ndf: int = 64                   # discriminator width
    num_upsampling_layers: Literal["normal", "more", "most"] = "normal"  # 5/6/7 upsamplings (12x12 start at 384)
    spade_hidden: int = 128         # SPADE mlp_shared width (hard-coded 128 in SPADE)
    norm_G: Literal["batch", "syncbatch", "instance"] = "batch"  # param-free norm inside SPADE
    # nearest (SPADE) | area (deviation: keeps smooth heatmap peaks and 1-3 px PAF stripes at 12-48 px)
    segmap_resize: Literal["nearest", "area"] = "nearest"  # how SPADE shrinks the condition
    num_D: int = 2                  # discriminator scales
    n_layers_D: int = 4             # layers per discriminator

    # --- GAN training (train-gan) ---------------------------------------------------------------------------------
    niter: int = 50                 # epochs at the initial learning rate
    niter_decay: int = 0            # epochs of linear decay to 0 after niter
    gan_batch_size: int = 1         # the project's batchSize
    lr: float = 2e-4                # GAN learning rate (GAN/train.py at HEAD; 2e-5 only in older commits)
    beta1: float = 0.0              # Adam beta1
    beta2: float = 0.9              # Adam beta2 (TTUR); no_TTUR uses 0.999
    no_TTUR: bool = False           # TTUR off: G and D both at lr (default TTUR: G lr/2, D 2 lr)
    lambda_feat: float = 10.0       # discriminator feature-matching weight
    lambda_vgg: float = 10.0        # VGG perceptual weight
    no_ganFeat_loss: bool = False   # drop the feature-matching loss
    no_vgg_loss: bool = False       # drop the VGG loss
    vgg_weights: str = ""           # torchvision vgg19-dcbb9e9d.pth supplied by the user; VGG loss off without it
    # SPADE fed [-1,1] images to VGG without ImageNet normalisation; fixed: (x+1)/2 then mean/std
    vgg_imagenet_norm: bool = True  # false: raw [-1, 1] into VGG (SPADE)
    nads_checkpoint: str = ""       # frozen NADS-Net of the extra G losses: ours or the project's .pth
    lambda_keypoint: float = 100.0  # frozen-NADS-Net heatmap MSE weight on fakes
    lambda_paf: float = 100.0       # frozen-NADS-Net PAF MSE weight on fakes
    lambda_seatbelt: float = 1.0    # frozen-NADS-Net belt Dice-BCE weight on fakes
    # random h-flip with left/right swap of the labels; the project's GAN loader had no augmentation (SPADE has
    # a flip that would not swap the labels)
    flip: bool = False  # random h-flip in train-gan
    gan_init_G: str = ""            # fine-tune from a G: ours or the project's latest_net_G.pth (continue_train)
    gan_init_D: str = ""            # ... and a D: ours or the project's latest_net_D.pth

    # --- logging / checkpoints (original option names) ---------------------------------------------------------------
    print_freq: int = 10            # log losses every N steps
    display_freq: int = 50          # gallery images every N steps (web/index.html)
    save_latest_freq: int = 100     # checkpoint every N steps
    save_epoch_freq: int = 1        # checkpoint every N epochs
    keep_last: int = 2              # numbered checkpoints kept
    tensorboard: bool = True        # write TensorBoard events

    # --- evaluation ---------------------------------------------------------------------------------------------
    pck_alpha: float = 0.2          # torso-normalised PCK: correct if |p-g| <= alpha * |neck - mid-hip|
    peak_threshold: float = 0.1     # heatmap peaks below this are ignored
    eval_checkpoint: str = ""       # NADS-Net for evaluate/predict: ours or the project's ("" = latest run's)
    eval_batch_size: int = 4        # batch size of validation and evaluation

    # --- experiment -------------------------------------------------------------------------------------------------
    experiment_gan_epochs: int = 2  # GAN epochs inside `experiment`
    experiment_nads_epochs: int = 2  # NADS-Net epochs of each arm of `experiment`
    experiment_seeds: list[int] = field(default_factory=lambda: [0])  # one baseline + augmented pair per seed
    experiment_gan_steps: int = 0   # GAN optimiser steps inside `experiment` (0 = experiment_gan_epochs)
    experiment_nads_steps: int = 0  # NADS-Net steps of each arm (0 = experiment_nads_epochs)

    def __post_init__(self) -> None:
        """Range, divisibility and consistency checks, one line each, before any work (choices are checked by
        load_config from the Literal types)."""
        self._check_counts()
        self._check_numbers()
        self._check_networks()
        if self.nads_epochs < 1:
            raise ConfigError(f"nads_epochs {self.nads_epochs}: must be at least 1 (max_steps stops earlier)")
        if self.niter + self.niter_decay < 1:
            raise ConfigError(f"niter {self.niter} + niter_decay {self.niter_decay}: train-gan needs at least 1 "
                              "epoch")
        if not self.geo_scales or not all(0 < s <= 1 for s in self.geo_scales):
            raise ConfigError(f"geo_scales {self.geo_scales}: each must be in (0, 1]")
        if not self.experiment_seeds:
            raise ConfigError("experiment_seeds: give at least one seed")
        if len(set(self.experiment_seeds)) != len(self.experiment_seeds):
            raise ConfigError(f"experiment_seeds {self.experiment_seeds}: a seed is repeated (each seed is one "
                              "baseline + augmented pair; a repeat would overwrite its results)")
        for name, seed in [("seed", self.seed)] + [("experiment_seeds", s) for s in self.experiment_seeds]:
            if not -SEED_LIMIT <= seed < SEED_LIMIT:
                raise ConfigError(f"{name} {seed}: must be between -2**62 and 2**62 (torch's seed range)")
        for name in ("name", "run_name"):  # run folders are <log_dir>/nads_spade/<run_name or name-...>
            value = getattr(self, name)
            if value in (".", "..") or any(sep in value for sep in ("/", "\\")) or (name == "name" and not value):
                raise ConfigError(f"{name} {value!r}: must be a plain folder name (no '/', '\\', '.' or '..'); "
                                  "the run folder is <log_dir>/nads_spade/<run_name>")

    def _check_counts(self) -> None:
        """Integer sizes and counts."""
        if self.image_size <= 0 or self.image_size % 32:
            raise ConfigError(f"image_size {self.image_size}: must be a positive multiple of 32 (PVT strides)")
        for name in ("nads_batch_size", "gan_batch_size", "eval_batch_size", "print_freq", "display_freq",
                     "save_latest_freq", "save_epoch_freq", "keep_last", "step_size", "synthetic_width",
                     "synthetic_height", "synthetic_train", "synthetic_val", "synthetic_test", "experiment_gan_epochs",
                     "experiment_nads_epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} {getattr(self, name)}: must be at least 1")
        for name in ("nads_epochs", "niter", "niter_decay", "max_steps", "max_people", "max_samples",
                     "num_workers", "num_threads", "experiment_gan_steps", "experiment_nads_steps",
                     "plateau_patience"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} {getattr(self, name)}: must not be negative")

    def _check_numbers(self) -> None:
        """Real-valued hyperparameters: finite, and inside their ranges."""
        for name in ("nads_lr", "lr"):  # the optimisers compute in float32
            if not 0 < getattr(self, name) < FLOAT32_MAX:
                raise ConfigError(f"{name} {getattr(self, name)}: must be a positive number below {FLOAT32_MAX:g} "
                                  "(float32)")
        for name in ("sigma", "paf_width_cells"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ConfigError(f"{name} {getattr(self, name)}: must be a finite positive number")
        for name in ("nads_weight_decay", "lambda_belt", "lambda_feat", "lambda_vgg", "lambda_keypoint",
                     "lambda_paf", "lambda_seatbelt", "arm_min_torso_px"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ConfigError(f"{name} {getattr(self, name)}: must be a finite number >= 0")
        for name, low, high in (("nads_momentum", 0, 1), ("beta1", 0, 1), ("beta2", 0, 1), ("pvt_drop_path", 0, 1),
                                ("peak_threshold", 0, 1)):
            if not low <= getattr(self, name) < high:
                raise ConfigError(f"{name} {getattr(self, name)}: must be in [{low}, {high})")
        for name, low, high in (("plateau_factor", 0, 1), ("pck_alpha", 0, 1), ("synthetic_passenger_prob", 0, 1)):
            value = getattr(self, name)
            if not (low < value <= high or (name == "synthetic_passenger_prob" and value == 0)):
                raise ConfigError(f"{name} {value}: must be in ({low}, {high}]")
        if not math.isfinite(self.geo_fill):
            raise ConfigError(f"geo_fill {self.geo_fill}: must be finite")

    def _check_networks(self) -> None:
        """Layer widths, heads and the generator's upsampling fit together."""
        for name in ("pvt_embed_dims", "pvt_num_heads", "pvt_mlp_ratios", "pvt_depths", "pvt_sr_ratios"):
            values = getattr(self, name)
            if len(values) != 4:
                raise ConfigError(f"{name}: needs 4 values (one per PVT stage), got {values}")
            if not all(isinstance(v, int) and v >= 1 for v in values):
                raise ConfigError(f"{name} {values}: each must be a whole number >= 1")
        for i, (dim, heads) in enumerate(zip(self.pvt_embed_dims, self.pvt_num_heads)):
            if dim % heads:
                raise ConfigError(f"pvt_num_heads {self.pvt_num_heads}: stage {i + 1} has {heads} heads, which do "
                                  f"not divide its width {dim} (pvt_embed_dims {self.pvt_embed_dims})")
        for i, ratio in enumerate(self.pvt_sr_ratios):
            grid = self.image_size // (4 * 2 ** i)
            if ratio > grid:
                raise ConfigError(f"pvt_sr_ratios {self.pvt_sr_ratios}: stage {i + 1} reduces its keys by {ratio}, "
                                  f"more than its {grid}x{grid} grid at image_size {self.image_size}")
        for name in ("fpn_channels", "ngf", "ndf", "spade_hidden", "num_D", "n_layers_D"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} {getattr(self, name)}: must be at least 1")
        if self.head_channels < 4 or self.head_channels % 4:
            raise ConfigError(f"head_channels {self.head_channels}: must be a positive multiple of 4 (the belt "
                              "branch narrows to head_channels / 4)")
        if self.label_nc != 26:
            raise ConfigError(f"label_nc {self.label_nc}: the generator's condition has 26 channels (9 heatmaps "
                              "+ 16 PAF + 1 belt)")
        n_up = {"normal": 5, "more": 6, "most": 7}.get(self.num_upsampling_layers, 5)
        if self.image_size % 2 ** n_up:
            raise ConfigError(f"image_size {self.image_size}: num_upsampling_layers {self.num_upsampling_layers} "
                              f"needs a multiple of {2 ** n_up} (the generator starts at image_size / 2^{n_up})")
        if self.num_upsampling_layers == "most" and self.ngf < 2:
            raise ConfigError(f"ngf {self.ngf}: num_upsampling_layers most needs ngf >= 2")
