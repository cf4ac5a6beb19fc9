"""Side by side with the original project's code: same weights, same inputs, max |ours - theirs| per output.

Needs a checkout of github ssiemonsma/Pose_Driven_Image_Generation (its GAN/ folder is imported at run time;
nothing of it is copied here). The project imports timm, torchvision and dill for parts this check never runs,
so small stand-ins are put in ``sys.modules`` first (timm's trunc_normal_/to_2tuple/register_model only).

1. The project's NADS-Net (its PVT, FPN, heads), randomly initialised and perturbed, is saved as
   ``traditionally_trained_NADS_Net_with_PVT.pth`` and loaded by ours (``configs/project_384.yaml``).
2. The project's SPADE generator (``latest_net_G.pth``) and discriminator (``latest_net_D.pth``) likewise.
3. Back: ours exported with :func:`nads_spade.compat.save_project_weights` loads strictly into the project's
   classes.

    python packages/nads_spade/bench/side_by_side_original.py --original /path/to/Pose_Driven_Image_Generation
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import torch
import torch.nn as nn

from motionkit.config import load_config
from nads_spade.compat import save_project_weights
from nads_spade.config import Config
from nads_spade.models import build_discriminator, build_nads, load_discriminator, load_generator, load_nads

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def install_stand_ins() -> None:
    """Minimal timm / torchvision / dill modules so the project's files import without those packages."""
    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    module("timm")
    module("timm.models")
    module("timm.models.layers", DropPath=nn.Identity, to_2tuple=lambda x: x if isinstance(x, tuple) else (x, x),
           trunc_normal_=lambda t, std=1.0: nn.init.trunc_normal_(t, std=std))
    module("timm.models.registry", register_model=lambda f: f)
    module("timm.models.vision_transformer", _cfg=lambda **kw: dict(kw))
    module("torchvision", models=module("torchvision.models", resnet50=None, vgg19=None),
           transforms=module("torchvision.transforms"))
    import pickle

    module("dill", **{k: getattr(pickle, k) for k in ("dump", "load", "dumps", "loads")})


@torch.no_grad()
def perturb(net: nn.Module, seed: int) -> nn.Module:
    """Random non-trivial weights and BN statistics (the inits alone give near-zero outputs)."""
    g = torch.Generator().manual_seed(seed)
    for name, t in net.state_dict().items():
        if t.is_floating_point() and not name.endswith(("weight_u", "weight_v")):
            t += 0.02 * torch.randn(t.shape, generator=g)
            if name.endswith("running_var"):
                t.abs_().add_(0.5)
    return net.eval()


def max_diff(a, b) -> float:
    if isinstance(a, list | tuple):
        return max(max_diff(x, y) for x, y in zip(a, b))
    return float((a.float() - b.float()).abs().max())


@torch.no_grad()
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--original", required=True, help="checkout of ssiemonsma/Pose_Driven_Image_Generation")
    ap.add_argument("--size", type=int, default=384, help="input size (the project's 384)")
    args = ap.parse_args()
    install_stand_ins()
    sys.path.insert(0, str(Path(args.original) / "GAN"))
    from models.networks.discriminator import MultiscaleDiscriminator as TheirD
    from models.networks.generator import SPADEGenerator as TheirG
    from NADS_Net_model import NADS_Net as TheirNADS
    from util.get_gan_options import get_gan_options

    torch.manual_seed(0)
    cfg = load_config(Config, CONFIGS / "project_384.yaml", {"device": "cpu"})
    opt = get_gan_options()
    opt.gpu_ids = []
    tmp = Path(tempfile.mkdtemp(prefix="nads_side_by_side_"))
    s = args.size
    rows = []

    theirs = perturb(TheirNADS(True, True, False), 1)
    torch.save(theirs.state_dict(), tmp / "traditionally_trained_NADS_Net_with_PVT.pth")
    ours = load_nads(tmp / "traditionally_trained_NADS_Net_with_PVT.pth", cfg)
    x = torch.randn(1, 3, s, s)
    t0 = time.perf_counter()
    rows.append(("NADS-Net heat/PAF/belt", max_diff(ours(x), theirs(x)),
                 sum(p.numel() for p in theirs.parameters()) / 1e6))

    their_g = TheirG(opt)
    their_g.init_weights(opt.init_type, opt.init_variance)
    perturb(their_g, 2)
    torch.save(their_g.state_dict(), tmp / "latest_net_G.pth")
    our_g = load_generator(tmp / "latest_net_G.pth", cfg)
    cond = torch.rand(1, 26, s, s)
    rows.append(("SPADE generator image", max_diff(our_g(cond), their_g(cond, z=None)),
                 sum(p.numel() for p in their_g.parameters()) / 1e6))
    del their_g, our_g

    opt.no_ganFeat_loss = False
    opt.netD_subarch = "n_layer"
    their_d = TheirD(opt)
    their_d.init_weights(opt.init_type, opt.init_variance)
    perturb(their_d, 3)
    torch.save(their_d.state_dict(), tmp / "latest_net_D.pth")
    our_d = load_discriminator(tmp / "latest_net_D.pth", cfg)
    xd = torch.randn(1, 29, s, s)
    rows.append(("discriminator (all 10 outputs)", max_diff(our_d(xd), their_d(xd)),
                 sum(p.numel() for p in their_d.parameters()) / 1e6))

    # back: ours -> the project's file -> the project's classes, strictly
    mine = perturb(build_nads(cfg), 4)
    back = TheirNADS(True, True, False)
    back.load_state_dict(torch.load(save_project_weights(mine, "nads", tmp / "ours_nads.pth")), strict=True)
    rows.append(("ours -> project NADS-Net (strict load)", max_diff(mine(x), back.eval()(x)), float("nan")))
    mine_d = perturb(build_discriminator(cfg), 5)
    back_d = TheirD(opt)
    back_d.load_state_dict(torch.load(save_project_weights(mine_d, "D", tmp / "ours_D.pth")), strict=True)
    rows.append(("ours -> project discriminator (strict load)", max_diff(mine_d(xd), back_d.eval()(xd)),
                 float("nan")))

    print(f"input {s}x{s}, CPU fp32, {time.perf_counter() - t0:.0f} s")
    print(f"{'output':45s} {'max |ours - theirs|':>20s} {'their params (M)':>17s}")
    for name, d, n in rows:
        print(f"{name:45s} {d:20.3g} {n:17.2f}")


if __name__ == "__main__":
    main()
