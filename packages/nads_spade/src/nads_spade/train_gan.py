"""SPADE GAN training (train-gan): the generator paints a person from the 26-channel pose/belt condition.

Per iteration (SPADE's pix2pix_trainer): one G step (hinge + feature matching + VGG + frozen-NADS-Net losses),
then one D step on a freshly generated fake (no grad). TTUR Adam: G lr/2, D 2 lr, betas (0, 0.9); ``no_TTUR``:
both lr, betas (beta1, 0.999). LR constant for ``niter`` epochs, then linearly to 0 over ``niter_decay``.
``flip`` (off, as the project) adds a random horizontal flip that swaps left/right. Run folder, lock, seeding,
logging and DDP teardown come from motionkit.run.start_run (``runs/nads_spade/<name>-gan[-2 ...]``);
checkpoints every ``save_latest_freq`` steps and ``save_epoch_freq`` epochs; ``--resume`` continues mid-epoch.
"""

from __future__ import annotations

import dataclasses
import os

import torch

from motionkit.errors import ConfigError, DataFormatError
from motionkit.run import start_run
from motionkit.training.ddp import all_reduce_mean, make_loader, wrap_ddp
from motionkit.training.device import resolve_device
from nads_spade import labels as L
from nads_spade.compat import check_weight_file
from nads_spade.data.dataset import build_dataset, seed_loader_epoch
from nads_spade.divergence import Guard
from nads_spade.gallery import Gallery, render_condition, to_uint8
from nads_spade.losses import VGGLoss, feature_matching_loss, frozen_nads_losses, hinge_d_loss, hinge_g_loss
from nads_spade.models import PACKAGE, build_discriminator, build_generator, load_into, load_nads


def make_condition(cfg, joints: torch.Tensor, belt: torch.Tensor) -> torch.Tensor:
    """joints (B, P, 9, 3), belt mask (B, 1, S, S) in [0, 1] -> the (B, 26, S, S) generator condition."""
    return L.condition(joints, L.belt_target(belt, cfg.image_size, cfg.belt_threshold_bug), cfg.image_size,
                       cfg.sigma, cfg.paf_width_cells)


def random_flip(images, joints, belt):
    """Flip each sample with probability 0.5 (image, belt and joints with the L/R swap)."""
    flip = torch.rand(images.shape[0]) < 0.5
    if not bool(flip.any()):
        return images, joints, belt
    images, joints, belt = images.clone(), joints.clone(), belt.clone()
    images[flip] = images[flip].flip(-1)
    belt[flip] = belt[flip].flip(-1)
    joints[flip] = L.flip_joints(joints[flip], images.shape[-1])
    joints[flip] = torch.where(joints[flip][..., 2:3] >= 1, joints[flip], torch.zeros_like(joints[flip]))
    return images, joints, belt


def lr_factor(cfg, epoch: int) -> float:
    """1 for the first ``niter`` epochs, then linear decay to 0 over ``niter_decay`` epochs."""
    if epoch < cfg.niter:
        return 1.0
    return max(0.0, 1.0 - (epoch - cfg.niter + 1) / (cfg.niter_decay + 1))


# settings a resumed run cannot change: the saved G, D and their optimiser states would not fit them
FIXED_ON_RESUME = {"label_nc", "ngf", "ndf", "num_upsampling_layers", "spade_hidden", "norm_G", "segmap_resize",
                   "num_D", "n_layers_D", "image_size"}


def preflight(cfg):
    """What can fail before a run folder exists: devices, the data, the batch size. Returns the training set."""
    if cfg.norm_G == "syncbatch" and "WORLD_SIZE" not in os.environ:
        raise ConfigError("norm_G syncbatch needs a torchrun launch; use batch")
    for name in ("device", "gan_device", "net_device"):
        if getattr(cfg, name):
            resolve_device(getattr(cfg, name))
    for path in (cfg.nads_checkpoint, cfg.gan_init_G, cfg.gan_init_D, "" if cfg.no_vgg_loss else cfg.vgg_weights):
        if path:
            check_weight_file(path)
    dataset = build_dataset(cfg, "train")
    where = cfg.coco_train_json if cfg.data_format == "coco" else cfg.train_root
    if len(dataset) == 0:
        raise DataFormatError(f"{where}: the training set has no usable image (no annotation with a labelled "
                              "person refers to an image of the file)")
    if len(dataset) < cfg.gan_batch_size:
        raise ConfigError(f"gan_batch_size {cfg.gan_batch_size}: the training set {where} has {len(dataset)} "
                          "images, so every batch would be skipped (full batches only); use a smaller batch size")
    return dataset


def optimizer_settings(cfg) -> tuple[float, float, tuple[float, float]]:
    """(lr of G, lr of D, Adam betas): TTUR G lr/2, D 2 lr, (beta1, beta2); no_TTUR both lr, (beta1, 0.999)."""
    if cfg.no_TTUR:
        return cfg.lr, cfg.lr, (cfg.beta1, 0.999)
    return cfg.lr / 2, cfg.lr * 2, (cfg.beta1, cfg.beta2)


def train_gan(cfg, resume: str | None = None) -> dict:
    """Train G and D in a new run folder (or the one ``resume`` names, see motionkit.run.start_run).

    Returns {'last': {loss: value}, 'steps': n, 'checkpoint': path, 'dir': run folder}. A resume may change
    anything but :data:`FIXED_ON_RESUME` (refused in one line); a changed lr or betas is applied and logged."""
    dataset = preflight(cfg)
    mutable = {f.name for f in dataclasses.fields(cfg)} - FIXED_ON_RESUME
    with start_run(cfg, package=PACKAGE, run_name=cfg.run_name or f"{cfg.name}-gan", log_root=cfg.log_dir,
                   resume=resume, device=cfg.gan_device or cfg.device, seed=cfg.seed,
                   use_tensorboard=cfg.tensorboard, deterministic=cfg.deterministic, keep_last=cfg.keep_last,
                   mutable_on_resume=mutable) as run:
        return _train(cfg, run, dataset)


def _train(cfg, run, dataset) -> dict:
    env, log, ckpt, run_dir = run.env, run.logger, run.checkpointer, run.dir
    gdev = run.device
    ndev = env.device if env.enabled else resolve_device(cfg.net_device or cfg.device)
    loader = make_loader(dataset, cfg.gan_batch_size, env, shuffle=True, seed=cfg.seed, drop_last=True,
                         num_workers=cfg.num_workers)
    G, D = build_generator(cfg).to(gdev), build_discriminator(cfg).to(gdev)
    vgg = VGGLoss(cfg.vgg_weights, cfg.vgg_imagenet_norm).to(gdev) if not cfg.no_vgg_loss else None
    nads = load_nads(cfg.nads_checkpoint, cfg, ndev) if cfg.nads_checkpoint else None
    if cfg.gan_init_G and not run.resuming:  # fine-tune like the project (continue_train): ours or latest_net_G
        load_into(cfg.gan_init_G, G, "G", cfg)
    if cfg.gan_init_D and not run.resuming:
        load_into(cfg.gan_init_D, D, "D", cfg)
    Gd, Dd = wrap_ddp(G, env), wrap_ddp(D, env)
    lr_g, lr_d, betas = optimizer_settings(cfg)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=betas)

    modules = {"G": G, "D": D, "opt_G": opt_g, "opt_D": opt_d}
    step, extra = ckpt.resume(modules, map_location=gdev)
    if {"lr", "no_TTUR", "beta1", "beta2"} & set(run.config_changes):  # applied below each epoch; said here
        for name, opt in (("G", opt_g), ("D", opt_d)):
            log.info(f"optimizer of {name}: lr {opt.param_groups[0]['lr']:g} -> {(lr_g, lr_d)[name == 'D']:g}, "
                     f"betas {tuple(opt.param_groups[0]['betas'])} -> {betas} (changed on resume)")
            for group in opt.param_groups:
                group["betas"] = betas
    if not len(loader):
        raise ConfigError(f"gan_batch_size {cfg.gan_batch_size}: this process's share of the training set is "
                          "smaller than one batch; use a smaller batch size")
    guard = Guard("--lr", ckpt.latest_path)
    epoch0, skip = extra.get("epoch", 0), extra.get("iter", 0)
    log.truncate_after(step)
    gallery = Gallery(run_dir, f"SPADE GAN: {cfg.name}", enabled=env.is_main)
    n_epochs = cfg.niter + cfg.niter_decay
    last: dict[str, float] = dict(extra.get("last", {}))
    total = min(n_epochs * len(loader), cfg.max_steps) if cfg.max_steps else n_epochs * len(loader)
    run.check_not_finished(step, total, unit="step", flag="--niter (or --max_steps)")
    bar = log.progress(total, "train-gan", initial=step)
    done = step >= total

    pos = (epoch0, skip)  # where a resumed run continues: (epoch, first batch not yet done)

    def save(where):
        ckpt.save(step, modules, extra={"epoch": where[0], "iter": where[1], "last": last})

    try:  # the bar ends its line before any error line
        for epoch in range(epoch0, n_epochs):
            if done:
                break
            for opt, base in ((opt_g, lr_g), (opt_d, lr_d)):
                for group in opt.param_groups:
                    group["lr"] = base * lr_factor(cfg, epoch)
            seed_loader_epoch(loader, cfg.seed, epoch)
            G.train()
            D.train()
            for it, batch in enumerate(loader):
                if epoch == epoch0 and it < skip:
                    continue
                images, joints, belt = batch["image"], batch["joints"], batch["belt"]
                if cfg.flip:
                    images, joints, belt = random_flip(images, joints, belt)
                cond = make_condition(cfg, joints, belt).to(gdev)
                real = (images * 2 - 1).to(gdev)

                # --- generator step ---------------------------------------------------------------------------
                fake = Gd(cond)
                guard.outputs({"the generator's output": fake}, step + 1, last or None)
                outs = Dd(torch.cat([torch.cat([cond, fake], 1), torch.cat([cond, real], 1)], 0))
                pf = [[o[: fake.shape[0]] for o in scale] for scale in outs]
                pr = [[o[fake.shape[0]:] for o in scale] for scale in outs]
                g_terms = {"G_GAN": hinge_g_loss(pf)}
                if not cfg.no_ganFeat_loss:
                    g_terms["G_GAN_Feat"] = feature_matching_loss(pf, pr, cfg.lambda_feat)
                if vgg is not None and vgg.enabled:
                    g_terms["G_VGG"] = vgg(fake, real) * cfg.lambda_vgg
                if nads is not None:
                    g_terms.update(frozen_nads_losses(nads, fake, real, cfg.fake_norm_bug,
                                                      (cfg.lambda_keypoint, cfg.lambda_paf, cfg.lambda_seatbelt)))
                g_loss = sum(g_terms.values())
                guard.losses(g_terms, step + 1)
                opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                opt_g.step()
                guard.weights({"the generator": G}, step + 1, g_terms, cfg.lr)

                # --- discriminator step -----------------------------------------------------------------------
                with torch.no_grad():
                    fake_d = Gd(cond).detach()
                outs = Dd(torch.cat([torch.cat([cond, fake_d], 1), torch.cat([cond, real], 1)], 0))
                pf = [[o[: fake_d.shape[0]] for o in scale] for scale in outs]
                pr = [[o[fake_d.shape[0]:] for o in scale] for scale in outs]
                d_loss = hinge_d_loss(pr, pf)
                guard.losses({"D": d_loss}, step + 1)
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                guard.weights({"the discriminator": D}, step + 1, {"D": d_loss}, cfg.lr)

                step += 1
                bar.update(1)
                terms = {**g_terms, "D": d_loss}
                last = {k: float(all_reduce_mean(v.detach(), env)) for k, v in terms.items()}
                if step % cfg.print_freq == 0:
                    log.log(step, epoch=epoch, lr_G=opt_g.param_groups[0]["lr"], **last)
                    bar.set_postfix({k: f"{v:.3f}" for k, v in last.items()})
                if step % cfg.display_freq == 0:
                    gallery.add(epoch, step, {"input_label": render_condition(cond[0].cpu()),
                                              "synthesized_image": to_uint8(fake[0], (-1, 1)),
                                              "real_image": to_uint8(real[0], (-1, 1))})
                pos = (epoch, it + 1)
                if step % cfg.save_latest_freq == 0:
                    save(pos)
                if cfg.max_steps and step >= cfg.max_steps:
                    done = True
                    break
            else:
                pos = (epoch + 1, 0)
                if (epoch + 1) % cfg.save_epoch_freq == 0:
                    save(pos)
        save(pos)
    finally:
        bar.close()
    log.info(f"train-gan: {step} steps, last losses {last}; checkpoint {run_dir / 'last.pt'}; "
             f"gallery {run_dir / 'web' / 'index.html'}")
    return {"last": last, "steps": step, "checkpoint": str(run_dir / "last.pt"), "dir": str(run_dir)}
