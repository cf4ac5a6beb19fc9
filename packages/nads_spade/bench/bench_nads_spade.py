"""Side-by-side throughput: the original's mode (fp32, eager) vs ours (bf16 autocast + channels_last [+ compile]).

Measures, for the configured sizes (default: the paper's, 384x384):
  gan_train        SPADE G + 2-scale D training step (hinge + feature matching), images/s
  nads_train_aug   NADS-Net training step with GAN augmentation (frozen G paints half the batch), images/s
  nads_infer       NADS-Net inference, images/s
and prints the ratio ours / original and the peak memory (CUDA: max allocated; CPU: process max RSS).

    python packages/nads_spade/bench/bench_nads_spade.py --config packages/nads_spade/configs/paper_384.yaml \
        --device cuda --batch 4
    python packages/nads_spade/bench/bench_nads_spade.py --config packages/nads_spade/configs/cpu_small.yaml \
        --device cpu --batch 4 --steps 3 --no-compile
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import time

import torch

from motionkit.config import load_config
from nads_spade import labels as L
from nads_spade.config import Config
from nads_spade.data.dataset import imagenet_normalize
from nads_spade.losses import feature_matching_loss, hinge_d_loss, hinge_g_loss, nads_loss
from nads_spade.models import build_discriminator, build_generator, build_nads


def fake_batch(cfg, b, dev):
    g = torch.Generator().manual_seed(0)
    s = cfg.image_size
    j = torch.zeros(b, 1, 9, 3)
    j[..., :2] = torch.rand(b, 1, 9, 2, generator=g) * (s * 0.6) + s * 0.2
    j[..., 2] = 2
    belt = torch.zeros(b, 1, s, s)
    belt[..., s // 3: s // 2, :] = 1
    img = torch.rand(b, 3, s, s, generator=g)
    return img.to(dev), j, belt


def peak_memory(dev) -> str:
    if dev.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(dev) / 2**30:.2f} GiB"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (process max RSS)"


def timed(fn, steps, warmup, dev, n_images):
    for _ in range(warmup):
        fn()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return n_images * steps / (time.perf_counter() - t)


def build(cfg, dev, ours: bool, compile_: bool):
    mf = torch.channels_last if ours else torch.contiguous_format
    G = build_generator(cfg).to(dev, memory_format=mf)
    D = build_discriminator(cfg).to(dev, memory_format=mf)
    N = build_nads(cfg).to(dev, memory_format=mf)
    Gf = build_generator(cfg).to(dev, memory_format=mf).eval().requires_grad_(False)
    fns = {"G": G, "D": D, "N": N, "Gf": Gf}
    if ours and compile_:
        fns = {k: torch.compile(v) for k, v in fns.items()}
    return G, D, N, fns


def run_mode(cfg, dev, batch, steps, warmup, ours, compile_):
    G, D, N, f = build(cfg, dev, ours, compile_)
    amp = (lambda: torch.autocast(dev.type, dtype=torch.bfloat16)) if ours else contextlib.nullcontext
    mf = torch.channels_last if ours else torch.contiguous_format
    img, joints, belt = fake_batch(cfg, batch, dev)
    cond = L.condition(joints, belt, cfg.image_size, cfg.sigma).to(dev).contiguous(memory_format=mf)
    real = (img * 2 - 1).contiguous(memory_format=mf)
    og = torch.optim.Adam(G.parameters(), 1e-4, betas=(0.0, 0.9))
    od = torch.optim.Adam(D.parameters(), 4e-4, betas=(0.0, 0.9))
    on = torch.optim.SGD(N.parameters(), 1e-5, momentum=0.9)
    heat_t, paf_t = (t.to(dev) for t in L.nads_targets(joints, cfg.image_size, cfg.sigma))
    belt_t = belt.to(dev)

    def gan_step():
        with amp():
            fake = f["G"](cond)
            outs = f["D"](torch.cat([torch.cat([cond, fake], 1), torch.cat([cond, real], 1)]))
            pf = [[o[:batch] for o in s] for s in outs]
            pr = [[o[batch:] for o in s] for s in outs]
            lg = hinge_g_loss(pf) + feature_matching_loss(pf, pr, 10.0)
        og.zero_grad(set_to_none=True)
        lg.backward()
        og.step()
        with amp():
            with torch.no_grad():
                fake = f["G"](cond)
            outs = f["D"](torch.cat([torch.cat([cond, fake], 1), torch.cat([cond, real], 1)]))
            ld = hinge_d_loss([[o[batch:] for o in s] for s in outs], [[o[:batch] for o in s] for s in outs])
        od.zero_grad(set_to_none=True)
        ld.backward()
        od.step()

    def nads_step():
        half = batch // 2
        with amp():
            with torch.no_grad():
                fake = f["Gf"](cond[:half])
            x = torch.cat([imagenet_normalize((fake.float() + 1) / 2), imagenet_normalize(img[half:])])
            out = f["N"](x.contiguous(memory_format=mf))
            loss = nads_loss(tuple(o.float() for o in out), heat_t, paf_t, belt_t, torch.ones(batch, device=dev))
        on.zero_grad(set_to_none=True)
        loss["total"].backward()
        on.step()

    @torch.no_grad()
    def infer():
        with amp():
            f["N"](imagenet_normalize(img).contiguous(memory_format=mf))

    res = {}
    for name, fn in (("gan_train", gan_step), ("nads_train_aug", nads_step), ("nads_infer", infer)):
        res[name] = (timed(fn, steps, warmup, dev, batch), peak_memory(dev))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=None)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    cfg = load_config(Config, args.config)
    dev = torch.device(args.device)
    compile_ = not args.no_compile
    print(f"device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'}), image "
          f"{cfg.image_size}, batch {args.batch}, ngf {cfg.ngf}, PVT {cfg.pvt_embed_dims}, steps {args.steps}")
    torch.manual_seed(0)
    base = run_mode(cfg, dev, args.batch, args.steps, args.warmup, ours=False, compile_=False)
    ours = run_mode(cfg, dev, args.batch, args.steps, args.warmup, ours=True, compile_=compile_)
    mode = "bf16+channels_last" + ("+compile" if compile_ else "")
    print(f"{'benchmark':16s} {'fp32 eager img/s':>17s} {mode + ' img/s':>32s} {'ratio':>6s}  peak mem (ours)")
    for k in base:
        print(f"{k:16s} {base[k][0]:17.2f} {ours[k][0]:32.2f} {ours[k][0] / base[k][0]:6.2f}x  {ours[k][1]}"
              f"  (fp32: {base[k][1]})")


if __name__ == "__main__":
    main()
