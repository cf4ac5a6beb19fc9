"""Shared plumbing of the trainers: devices, model construction from the config, frozen-network loading."""

from __future__ import annotations

import torch

from motionkit.errors import ConfigError
from motionkit.training import load_checkpoint
from motionkit.training.checkpoint import restore_modules
from nads_spade.models.discriminator import MultiscaleDiscriminator
from nads_spade.models.nadsnet import NADSNet
from nads_spade.models.spade import SPADEGenerator


def resolve_device(name: str, fallback: str = "auto") -> torch.device:
    """'' -> fallback; 'auto' -> cuda if available else cpu; anything else as torch.device."""
    name = name or fallback
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


def build_generator(cfg) -> SPADEGenerator:
    return SPADEGenerator(cfg.label_nc, cfg.ngf, cfg.image_size, cfg.num_upsampling_layers, cfg.spade_hidden,
                          cfg.norm_G, cfg.segmap_resize)


def build_discriminator(cfg) -> MultiscaleDiscriminator:
    return MultiscaleDiscriminator(cfg.label_nc + 3, cfg.ndf, cfg.n_layers_D, cfg.num_D)


def build_nads(cfg) -> NADSNet:
    net = NADSNet.from_config(cfg)
    if cfg.pvt_pretrained:
        missing = net.backbone.load_official(cfg.pvt_pretrained)
        if missing:
            raise ConfigError(f"{cfg.pvt_pretrained}: PVT weights lack {missing[:3]}")
    return net


def load_frozen(path: str, name: str, module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """Load ``module`` from the checkpoint entry ``name`` (G of train-gan, net of train-nads), eval, no grads."""
    restore_modules(load_checkpoint(path), {name: module}, path)
    return module.to(device).eval().requires_grad_(False)


def seed_loader_epoch(loader, seed: int, epoch: int) -> None:
    """Same shuffling for an epoch whether or not the run was resumed (DDP samplers use seed + epoch too)."""
    from motionkit.training.ddp import set_loader_epoch

    set_loader_epoch(loader, epoch)
    if getattr(loader, "generator", None) is not None:
        loader.generator.manual_seed(seed + epoch)
