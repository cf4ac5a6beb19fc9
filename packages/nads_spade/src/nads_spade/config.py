"""Every hyperparameter of both networks, both trainers, the data and the experiment.

YAML keys and CLI flags use the original project's option names where it had one (print_freq, save_latest_freq,
save_epoch_freq, display_freq, arm_augment_type, lambda_*). Each deviation from the original code is a switch
here with the reason beside it; the default is the fixed behaviour, ``*_bug``/``original`` reproduces the
original.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Config:
    # --- run ---------------------------------------------------------------------------------------------------
    name: str = "nads_spade"
    run_dir: str = "runs/nads_spade"
    seed: int = 0
    device: str = "auto"            # auto = cuda if available else cpu
    gan_device: str = ""            # the original put G+D on one GPU ...
    net_device: str = ""            # ... and the (frozen) NADS-Net on another; "" = device
    num_workers: int = 0
    deterministic: bool = True

    # --- data ----------------------------------------------------------------------------------------------------
    data_format: str = "original"   # original (Raw_Images/, Seatbelt_Mask/, *_keypoint_Annotation*.json) | coco
    train_root: str = "datasets/cache/nads_synthetic/train"
    val_root: str = "datasets/cache/nads_synthetic/val"
    test_root: str = "datasets/cache/nads_synthetic/test_wide"
    coco_train_json: str = ""       # person_keypoints_*.json (format b); images in coco_*_images
    coco_train_images: str = ""
    coco_val_json: str = ""
    coco_val_images: str = ""
    image_size: int = 384           # network input (the paper's 384x384, non-uniform resize of 1920x1080)
    max_people: int = 0             # 0 = keep every annotated person (the project); N = refuse images with more
    max_samples: int = 0            # 0 = all

    # --- synthetic in-cabin renderer (make-synthetic) ---------------------------------------------------------------
    synthetic_root: str = "datasets/cache/nads_synthetic"
    synthetic_width: int = 640      # written frame size (16:9 like the original 1920x1080 frames)
    synthetic_height: int = 360
    synthetic_train: int = 64
    synthetic_val: int = 16
    synthetic_test: int = 16
    synthetic_passenger_prob: float = 0.3  # probability of a second (passenger) person

    # --- labels (section 6 of the notes) ------------------------------------------------------------------------------
    sigma: float = 7.0              # Gaussian sigma in px at 384 (scaled by image_size/384)
    paf_width_cells: float = 1.0    # PAF half-width in map cells (+-4 px at 96^2, +-1 px at 384^2)
    heatmap_background: bool = False  # add the optional background channel (10 heat channels)
    # original: belt target = resized mask /255 then astype(uint8) -> only exact 255 pixels survive (eroded)
    belt_threshold_bug: bool = False

    # --- NADS-Net --------------------------------------------------------------------------------------------------
    pvt_embed_dims: list[int] = field(default_factory=lambda: [64, 128, 320, 512])
    pvt_num_heads: list[int] = field(default_factory=lambda: [1, 2, 5, 8])
    pvt_mlp_ratios: list[int] = field(default_factory=lambda: [8, 8, 4, 4])
    pvt_depths: list[int] = field(default_factory=lambda: [2, 2, 2, 2])
    pvt_sr_ratios: list[int] = field(default_factory=lambda: [8, 4, 2, 1])
    pvt_drop_path: float = 0.1
    # official: embeddings at the 224 grid, resized (whai362/PVT); project: learned on the input grid, as the
    # project's PVT/pvt.py (needed for its traditionally_trained_NADS_Net_with_PVT.pth; drop-path 0 there)
    pvt_variant: str = "official"
    pvt_pretrained: str = ""        # path to the official pvt_tiny.pth (never downloaded)
    fpn_channels: int = 256
    fpn_wiring: str = "standard"    # standard | original (P4 = L4, each level adds only the coarser *lateral*)
    head_channels: int = 128        # two_conv width; map branch 4h -> 4h -> 2h, belt branch 4h -> h -> h/4

    # --- NADS-Net training (train-nads) ------------------------------------------------------------------------
    # start from a pretrained NADS-Net (the project's start_from_pretrained/pretrained_filename): our checkpoint
    # or its traditionally_trained_NADS_Net_with_PVT.pth; "" = from scratch (or from pvt_pretrained)
    nads_init: str = ""
    nads_epochs: int = 100
    nads_batch_size: int = 10       # 4 with GAN augmentation in the original
    nads_lr: float = 1e-5
    nads_optimizer: str = "sgd"     # sgd (paper) | adam (CPU demos: a from-scratch net learns in minutes)
    nads_momentum: float = 0.9
    nads_weight_decay: float = 5e-7
    plateau_factor: float = 0.8
    plateau_patience: int = 4
    lambda_belt: float = 500.0      # NADS loss = heat MSE + PAF MSE + 500 * DiceBCE(belt)
    max_steps: int = 0              # stop after this many optimiser steps (0 = run all epochs); for tests/demos
    gan_augment: bool = False       # paint half of each batch with the frozen generator
    gan_checkpoint: str = ""        # G checkpoint (last.pt of train-gan) used by train-nads --gan_augment
    arm_augment_type: str = "highly"  # slightly | highly
    arm_min_torso_px: float = 70.0  # arms of people with torso > this (px at 384) are augmented (front row)
    # original: torso = mean(|neck-Rhip|, |neck-Rhip|) (same distance twice); fixed: mean over both hips
    torso_bug: bool = False
    # original 'highly' samples new bone lengths N(0.7L,0.2L) and clips joints to [0,384]; fixed ('keep'):
    # the person's own bone lengths, directions resampled until the arm stays inside the image
    arm_length_mode: str = "keep"   # keep | sample
    # original: `original_joints = joints` aliased the labels, so the "un-augmented" half got augmented labels
    alias_bug: bool = False
    # original: fakes = batch[:B//2], reals = batch[B//2:-1] (drops the last sample)
    half_slice_bug: bool = False
    # original mixed tanh [-1,1] fakes into an ImageNet-normalised batch; fixed: (x+1)/2 then ImageNet mean/std
    fake_norm_bug: bool = False
    geo_augment: bool = True        # joint random resize (s_h, s_w in geo_scales) + translate
    geo_scales: list[float] = field(default_factory=lambda: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    geo_fill: float = 0.0           # canvas fill in normalised space; the original filled 128 (a bug there)

    # --- SPADE generator / discriminator ----------------------------------------------------------------------------
    label_nc: int = 26              # 9 heatmaps + 16 PAF + 1 belt
    ngf: int = 64
    ndf: int = 64
    num_upsampling_layers: str = "normal"  # normal | more | most
    spade_hidden: int = 128         # SPADE mlp_shared width (hard-coded 128 in SPADE)
    norm_G: str = "batch"           # batch | syncbatch | instance  (param-free norm inside SPADE)
    segmap_resize: str = "nearest"  # nearest (SPADE) | area (keeps smooth heatmap peaks at 12-48 px; deviation)
    num_D: int = 2
    n_layers_D: int = 4

    # --- GAN training (train-gan) ---------------------------------------------------------------------------------
    niter: int = 50
    niter_decay: int = 0
    gan_batch_size: int = 1
    lr: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9
    no_TTUR: bool = False
    lambda_feat: float = 10.0
    lambda_vgg: float = 10.0
    no_ganFeat_loss: bool = False
    no_vgg_loss: bool = False
    vgg_weights: str = ""           # torchvision vgg19-dcbb9e9d.pth supplied by the user; VGG loss off without it
    # SPADE fed [-1,1] images to VGG without ImageNet normalisation; fixed: (x+1)/2 then mean/std
    vgg_imagenet_norm: bool = True
    nads_checkpoint: str = ""       # frozen NADS-Net for the extra G losses (and pose-consistency evaluation)
    lambda_keypoint: float = 100.0  # were hard-coded 100/100/1 in the original (options ignored)
    lambda_paf: float = 100.0
    lambda_seatbelt: float = 1.0
    flip: bool = True               # random h-flip with left/right swap of the labels (recomputed from joints)
    gan_init_G: str = ""            # fine-tune from earlier G/D checkpoints like the project did
    gan_init_D: str = ""

    # --- logging / checkpoints (original option names) ---------------------------------------------------------------
    print_freq: int = 10
    display_freq: int = 50
    save_latest_freq: int = 100
    save_epoch_freq: int = 1
    keep_last: int = 2
    tensorboard: bool = True

    # --- evaluation ---------------------------------------------------------------------------------------------
    pck_alpha: float = 0.2          # torso-normalised PCK: correct if |p-g| <= alpha * |neck - mid-hip|
    peak_threshold: float = 0.1
    eval_checkpoint: str = ""       # NADS-Net checkpoint to evaluate (default run_dir/nads/best.pt)
    eval_batch_size: int = 4

    # --- experiment -------------------------------------------------------------------------------------------------
    experiment_dir: str = "runs/nads_spade_experiment"
    experiment_gan_epochs: int = 2
    experiment_nads_epochs: int = 2
