"""Model factories: ``build_*(cfg)`` makes a fresh network, ``load_*(path, cfg)`` fills one from a file.

A file is either our checkpoint (``last.pt``/``best.pt`` of train-gan / train-nads: the entry ``G``, ``D`` or
``net``) or the project's released weights (``latest_net_G.pth``, ``latest_net_D.pth``,
``traditionally_trained_NADS_Net_with_PVT.pth``, renamed by :mod:`nads_spade.compat`). Both are read with the
restricted unpickler of :func:`nads_spade.compat.read_weights`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from motionkit.errors import CheckpointError, ConfigError
from motionkit.runfolder import latest_run_dir
from motionkit.training.checkpoint import restore_modules
from nads_spade import compat
from nads_spade.models.discriminator import MultiscaleDiscriminator
from nads_spade.models.nadsnet import NADSNet
from nads_spade.models.spade import SPADEGenerator

# entry names in our checkpoints, kinds in compat
_ENTRY = {"G": "G", "D": "D", "nads": "net"}
PACKAGE = "nads_spade"
_MAKER = {"gan": "train-gan", "nads": "train-nads"}


def checkpoint_or_latest(path: str, cfg, kind: str, filename: str) -> str:
    """``path`` when given, else ``<log_dir>/nads_spade/<name>-<kind>[-N]/<filename>`` of the latest such run
    (kind 'gan' | 'nads'); a one-line error when there is none."""
    if path:
        return path
    folder = latest_run_dir(cfg.log_dir, PACKAGE, f"{cfg.name}-{kind}")
    if folder is None:
        raise ConfigError(f"no {cfg.name}-{kind} run under {Path(cfg.log_dir) / PACKAGE}: run {_MAKER[kind]} "
                          "first or name a checkpoint file")
    return str(folder / filename)


def build_generator(cfg) -> SPADEGenerator:
    """SPADE generator: (B, 26, S, S) condition -> (B, 3, S, S) in [-1, 1]."""
    return SPADEGenerator(cfg.label_nc, cfg.ngf, cfg.image_size, cfg.num_upsampling_layers, cfg.spade_hidden,
                          cfg.norm_G, cfg.segmap_resize)


def build_discriminator(cfg) -> MultiscaleDiscriminator:
    """Multi-scale PatchGAN over cat(condition, image): (B, 29, S, S) -> per scale 5 outputs."""
    return MultiscaleDiscriminator(cfg.label_nc + 3, cfg.ndf, cfg.n_layers_D, cfg.num_D)


def build_nads(cfg) -> NADSNet:
    """NADS-Net; with ``pvt_pretrained`` the backbone starts from the official ImageNet ``pvt_tiny.pth``."""
    net = NADSNet.from_config(cfg)
    if cfg.pvt_pretrained:
        missing = net.backbone.load_official(cfg.pvt_pretrained)
        if missing:
            raise ConfigError(f"{cfg.pvt_pretrained}: PVT weights lack {missing[:3]}")
    return net


def load_into(path: str | Path, module: torch.nn.Module, kind: str, cfg=None) -> torch.nn.Module:
    """Fill ``module`` (kind 'G' | 'D' | 'nads') from our checkpoint or the project's file; returns it."""
    state = compat.read_weights(path)
    if compat.is_project_state(state):
        if kind == "nads" and cfg is not None and cfg.fpn_wiring != "original":
            raise ConfigError(f"{path}: the project's NADS-Net was trained with its own FPN wiring; use "
                              "--fpn_wiring original --pvt_variant project (configs/project_384.yaml)")
        try:
            module.load_state_dict(compat.from_project(state, module, kind, path))
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: does not fit ({str(exc).splitlines()[0][:160]})") from None
    else:
        restore_modules(state, {_ENTRY[kind]: module}, path)
    return module


def frozen(module: torch.nn.Module, device: torch.device | str) -> torch.nn.Module:
    """eval mode, no gradients, on ``device``."""
    return module.to(device).eval().requires_grad_(False)


def load_generator(path: str | Path, cfg, device: torch.device | str = "cpu") -> SPADEGenerator:
    """A frozen generator from ``path`` (our train-gan checkpoint or the project's latest_net_G.pth)."""
    return frozen(load_into(path, build_generator(cfg), "G", cfg), device)


def load_discriminator(path: str | Path, cfg, device: torch.device | str = "cpu"):
    """A frozen discriminator from ``path`` (ours or the project's latest_net_D.pth)."""
    return frozen(load_into(path, build_discriminator(cfg), "D", cfg), device)


def load_nads(path: str | Path, cfg, device: torch.device | str = "cpu") -> NADSNet:
    """A frozen NADS-Net from ``path`` (ours or the project's traditionally_trained_NADS_Net_with_PVT.pth)."""
    return frozen(load_into(path, NADSNet.from_config(cfg), "nads", cfg), device)
