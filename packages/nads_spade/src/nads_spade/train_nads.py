"""NADS-Net training (train-nads), optionally with pose-driven GAN augmentation (``gan_augment``).

Per batch of B (RGB in [0, 1], joints, belt):
  1. with ``gan_augment``: arm poses of the whole batch are changed (``arm_augment_type`` slightly|highly, on a
     copy); the first B/2 samples get the augmented 26-channel condition painted by the frozen SPADE generator
     (on ``gan_device``) and the augmented labels; the rest stay real with their own labels;
  2. ImageNet normalisation (fakes: (x+1)/2 first), joint random resize/translate of images, joints and belt;
  3. targets rendered from the (moved) joints at S/4 and the belt at S; loss heat + PAF + 500 DiceBCE.
SGD (lr 1e-5, momentum 0.9, wd 5e-7), ReduceLROnPlateau(0.8, patience 4) on the validation loss each epoch,
``best.pt`` on the best validation loss. The run folder, lock, seeding, logging and DDP teardown come from
motionkit.run.start_run: ``runs/nads_spade/<name>-nads[-2 ...]``, a new one per invocation unless resumed
(mid-epoch, bit-identical to an uninterrupted run).
"""

from __future__ import annotations

import dataclasses

import torch

from motionkit.errors import ConfigError, DataFormatError
from motionkit.run import start_run
from motionkit.training.ddp import all_reduce_mean, make_loader, wrap_ddp
from motionkit.training.device import resolve_device
from nads_spade import labels as L
from nads_spade.augment import augment_arms, random_resize_translate
from nads_spade.compat import check_weight_file
from nads_spade.data.dataset import build_dataset, imagenet_normalize, seed_loader_epoch
from nads_spade.divergence import Guard
from nads_spade.gallery import Gallery, render_condition, render_maps, to_uint8
from nads_spade.losses import nads_loss
from nads_spade.models import PACKAGE, build_nads, checkpoint_or_latest, load_generator, load_into


def gan_augment_batch(cfg, G, images, joints, belt, gan_device):
    """Step 1 above. Returns (images ImageNet-normalised, joints used as labels, augmented condition of the painted
    half and its painting, for the gallery)."""
    bsz = images.shape[0]
    half = bsz // 2
    aug = augment_arms(joints, cfg.arm_augment_type, cfg.image_size, cfg.arm_min_torso_px, cfg.torso_bug,
                       cfg.arm_length_mode)
    if cfg.alias_bug:  # original: `original_joints = joints` -> the real half is labelled with augmented poses
        joints = aug
    belt_t = L.belt_target(belt, cfg.image_size, cfg.belt_threshold_bug)
    cond = L.condition(aug[:half], belt_t[:half], cfg.image_size, cfg.sigma, cfg.paf_width_cells)
    with torch.no_grad():
        fake = G(cond.to(gan_device)).to(images.device).float()
    fake_in = fake if cfg.fake_norm_bug else imagenet_normalize((fake + 1) / 2)
    x = torch.cat([fake_in, imagenet_normalize(images[half:])])
    j = torch.cat([aug[:half], joints[half:]])
    if cfg.half_slice_bug and bsz - 1 >= half:  # original: labels[B//2:-1] reset, the last one stays augmented
        j[-1] = aug[-1]
    return x, j, cond, fake


def nads_step_inputs(cfg, images_norm, joints, belt):
    """Step 2 + 3: geometric augmentation, then targets. Returns x, heat_t, paf_t, belt_t."""
    if cfg.geo_augment:
        images_norm, joints, belt = random_resize_translate(images_norm, joints, belt, cfg.geo_scales, cfg.geo_fill)
    heat_t, paf_t = L.nads_targets(joints, cfg.image_size, cfg.sigma, cfg.paf_width_cells, cfg.heatmap_background)
    return images_norm, heat_t, paf_t, L.belt_target(belt, cfg.image_size, cfg.belt_threshold_bug)


@torch.no_grad()
def validation_loss(cfg, net, loader, device, env) -> dict[str, float]:
    """Mean NADS-Net loss terms over ``loader`` (no augmentation), averaged over DDP ranks."""
    net.eval()
    sums: dict[str, torch.Tensor] = {}
    n = 0
    for batch in loader:
        joints, belt = batch["joints"], batch["belt"]
        heat_t, paf_t = L.nads_targets(joints, cfg.image_size, cfg.sigma, cfg.paf_width_cells, cfg.heatmap_background)
        out = net(imagenet_normalize(batch["image"].to(device)), belt_logits=cfg.belt_bce_logits)
        terms = nads_loss(out, heat_t.to(device), paf_t.to(device),
                          L.belt_target(belt, cfg.image_size, cfg.belt_threshold_bug).to(device),
                          batch["belt_valid"].to(device), cfg.lambda_belt, cfg.belt_bce_logits)
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v.detach() * len(joints)
        n += len(joints)
    net.train()
    return {k: float(all_reduce_mean(v / max(n, 1), env)) for k, v in sums.items()}


# every choice of nads_optimizer and lr_schedule_type, and what it builds (a choice missing here is refused)
OPTIMIZERS = {
    "sgd": lambda cfg, params: torch.optim.SGD(params, lr=cfg.nads_lr, momentum=cfg.nads_momentum,
                                               weight_decay=cfg.nads_weight_decay),
    "adam": lambda cfg, params: torch.optim.Adam(params, lr=cfg.nads_lr, weight_decay=cfg.nads_weight_decay),
}
SCHEDULERS = {
    "fixed": lambda cfg, opt: torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.plateau_factor),
    "metric-based": lambda cfg, opt: torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=cfg.plateau_factor, patience=cfg.plateau_patience),
}
# settings a resumed run cannot change: the saved weights, optimiser state or scheduler would not fit them
FIXED_ON_RESUME = {"pvt_embed_dims", "pvt_num_heads", "pvt_mlp_ratios", "pvt_depths", "pvt_sr_ratios", "pvt_variant",
                   "fpn_channels", "fpn_wiring", "head_channels", "heatmap_background", "image_size",
                   "nads_optimizer", "lr_schedule_type"}


def make_optimizer(cfg, net):
    """SGD (the project) or Adam over ``net``, and its scheduler (ReduceLROnPlateau or StepLR)."""
    for name, table in (("nads_optimizer", OPTIMIZERS), ("lr_schedule_type", SCHEDULERS)):
        if getattr(cfg, name) not in table:
            raise ConfigError(f"{name} {getattr(cfg, name)!r}: not implemented (choose {' | '.join(table)})")
    opt = OPTIMIZERS[cfg.nads_optimizer](cfg, net.parameters())
    return opt, SCHEDULERS[cfg.lr_schedule_type](cfg, opt)


def apply_optimizer_settings(cfg, opt, sched, log, changes: dict) -> None:
    """After a resume: an lr, momentum or weight decay changed on the command line replaces the stored one
    (logged); unchanged ones keep the stored values, so the scheduler's reductions survive a plain resume."""
    new = {"nads_lr": ("lr", cfg.nads_lr), "nads_momentum": ("momentum", cfg.nads_momentum),
           "nads_weight_decay": ("weight_decay", cfg.nads_weight_decay)}
    for field, (key, value) in new.items():
        if field not in changes:
            continue
        for group in opt.param_groups:
            if key in group and group[key] != value:
                log.info(f"optimizer {key}: {group[key]:g} -> {value:g} (--{field} changed on resume)")
                group[key] = value
        if key == "lr" and hasattr(sched, "base_lrs"):
            sched.base_lrs = [value] * len(opt.param_groups)


def preflight(cfg):
    """What can fail before a run folder exists: devices, the optimizer choice, the data, the batch size.
    Returns the (train, val) data sets."""
    for name in ("device", "gan_device", "net_device"):
        if getattr(cfg, name):
            resolve_device(getattr(cfg, name))
    make_optimizer(cfg, torch.nn.Linear(1, 1))
    for path in (cfg.nads_init, cfg.pvt_pretrained, cfg.gan_checkpoint if cfg.gan_augment else ""):
        if path:
            check_weight_file(path)
    train_set = build_dataset(cfg, "train")
    n = len(train_set)
    where = cfg.coco_train_json if cfg.data_format == "coco" else cfg.train_root
    if n == 0:
        raise DataFormatError(f"{where}: the training set has no usable image (no annotation with a labelled "
                              "person refers to an image of the file)")
    if n < cfg.nads_batch_size:
        raise ConfigError(f"nads_batch_size {cfg.nads_batch_size}: the training set {where} has {n} images, so "
                          "every batch would be skipped (full batches only); use a smaller batch size")
    return train_set, build_dataset(cfg, "val")


def train_nads(cfg, resume: str | None = None) -> dict:
    """Train NADS-Net in a new run folder (or the one ``resume`` names, see motionkit.run.start_run).

    Returns {'last', 'val', 'best_val', 'steps', 'checkpoint', 'best', 'dir'}. A resume may change anything but
    :data:`FIXED_ON_RESUME` (refused in one line); a changed learning rate is applied and logged."""
    data = preflight(cfg)
    mutable = {f.name for f in dataclasses.fields(cfg)} - FIXED_ON_RESUME
    with start_run(cfg, package=PACKAGE, run_name=cfg.run_name or f"{cfg.name}-nads", log_root=cfg.log_dir,
                   resume=resume, device=cfg.net_device or cfg.device, seed=cfg.seed,
                   use_tensorboard=cfg.tensorboard, deterministic=cfg.deterministic, keep_last=cfg.keep_last,
                   mutable_on_resume=mutable) as run:
        return _train(cfg, run, data)


def _train(cfg, run, data) -> dict:
    env, log, ckpt, run_dir = run.env, run.logger, run.checkpointer, run.dir
    ndev = run.device
    gdev = env.device if env.enabled else resolve_device(cfg.gan_device or cfg.device)
    train_set, val_set = data
    loader = make_loader(train_set, cfg.nads_batch_size, env, shuffle=True, seed=cfg.seed, drop_last=True,
                         num_workers=cfg.num_workers)
    val_loader = make_loader(val_set, cfg.eval_batch_size, env, shuffle=False, drop_last=False,
                             num_workers=cfg.num_workers)
    net = build_nads(cfg)
    if cfg.nads_init and not run.resuming:  # the project's start_from_pretrained: ours or its released NADS-Net
        load_into(cfg.nads_init, net, "nads", cfg)
    net = net.to(ndev)
    if cfg.gan_augment:  # the latest <name>-gan run's G unless gan_checkpoint names one
        G = load_generator(checkpoint_or_latest(cfg.gan_checkpoint, cfg, "gan", "last.pt"), cfg, gdev)
    else:
        G = None
    netd = wrap_ddp(net, env)
    opt, sched = make_optimizer(cfg, net)
    modules = {"net": net, "opt": opt, "sched": sched}
    step, extra = ckpt.resume(modules, map_location=ndev)
    apply_optimizer_settings(cfg, opt, sched, log, run.config_changes)
    if not len(loader):
        raise ConfigError(f"nads_batch_size {cfg.nads_batch_size}: this process's share of the training set is "
                          "smaller than one batch; use a smaller batch size")
    total = cfg.nads_epochs * len(loader)
    total = min(total, cfg.max_steps) if cfg.max_steps else total
    guard = Guard("--nads_lr", ckpt.latest_path)
    run.check_not_finished(step, total, unit="step", flag="--nads_epochs (or --max_steps)")
    epoch0, skip = extra.get("epoch", 0), extra.get("iter", 0)
    best_val = extra.get("best_val", float("inf"))
    last, val = dict(extra.get("last", {})), dict(extra.get("val", {}))
    log.truncate_after(step)
    gallery = Gallery(run_dir, f"NADS-Net: {cfg.name}", enabled=env.is_main)
    bar = log.progress(total, "train-nads", initial=step)
    done = step >= total
    pos = (epoch0, skip)

    def save(where, is_best=False):
        ckpt.save(step, modules, is_best=is_best,
                  extra={"epoch": where[0], "iter": where[1], "best_val": best_val, "last": last, "val": val})

    try:  # the bar ends its line before any error line
        for epoch in range(epoch0, cfg.nads_epochs):
            if done:
                break
            seed_loader_epoch(loader, cfg.seed, epoch)
            net.train()
            for it, batch in enumerate(loader):
                if epoch == epoch0 and it < skip:
                    continue
                images, joints, belt, valid = batch["image"], batch["joints"], batch["belt"], batch["belt_valid"]
                cond = fake = None
                if G is not None:
                    x, joints, cond, fake = gan_augment_batch(cfg, G, images.to(ndev), joints, belt, gdev)
                else:
                    x = imagenet_normalize(images.to(ndev))
                x, heat_t, paf_t, belt_t = nads_step_inputs(cfg, x, joints.to(ndev), belt.to(ndev))
                out = netd(x, belt_logits=cfg.belt_bce_logits)
                guard.outputs({"the heatmap output": out[0], "the PAF output": out[1], "the belt output": out[2]},
                              step + 1, last or None)
                terms = nads_loss(out, heat_t, paf_t, belt_t, valid.to(ndev), cfg.lambda_belt, cfg.belt_bce_logits)
                guard.losses(terms, step + 1)
                opt.zero_grad(set_to_none=True)
                terms["total"].backward()
                opt.step()
                guard.weights({"NADS-Net": net}, step + 1, terms, opt.param_groups[0]["lr"])
                step += 1
                bar.update(1)
                last = {k: float(all_reduce_mean(v.detach(), env)) for k, v in terms.items()}
                if step % cfg.print_freq == 0:
                    log.log(step, epoch=epoch, lr=opt.param_groups[0]["lr"],
                            **{f"train_{k}": v for k, v in last.items()})
                    bar.set_postfix(loss=f"{last['total']:.3f}")
                if step % cfg.display_freq == 0:
                    gallery.add(epoch, step, _visuals(cfg, x, heat_t, paf_t, belt_t, out, cond, fake))
                pos = (epoch, it + 1)
                if step % cfg.save_latest_freq == 0:
                    save(pos)
                if cfg.max_steps and step >= cfg.max_steps:
                    done = True
                    break
            else:
                val = validation_loss(cfg, net, val_loader, ndev, env)
                if cfg.lr_schedule_type == "metric-based":
                    sched.step(val["total"])
                else:
                    sched.step()
                is_best = val["total"] < best_val
                best_val = min(best_val, val["total"])
                log.log(step, epoch=epoch, **{f"val_{k}": v for k, v in val.items()})
                lr = opt.param_groups[0]["lr"]
                log.info(f"epoch {epoch}: val loss {val['total']:.4f} (best {best_val:.4f}), lr {lr:.3g}")
                pos = (epoch + 1, 0)
                if is_best or (epoch + 1) % cfg.save_epoch_freq == 0:
                    save(pos, is_best)
        if not val:
            val = validation_loss(cfg, net, val_loader, ndev, env)
            best_val = min(best_val, val["total"])
            save(pos, is_best=not (run_dir / "best.pt").exists())
        else:
            save(pos)
    finally:
        bar.close()
    log.info(f"train-nads: {step} steps, val {val}; checkpoints {run_dir}; gallery {run_dir / 'web' / 'index.html'}")
    return {"last": last, "val": val, "best_val": best_val, "steps": step, "dir": str(run_dir),
            "checkpoint": str(run_dir / "last.pt"), "best": str(run_dir / "best.pt")}


def _visuals(cfg, x, heat_t, paf_t, belt_t, out, cond, fake) -> dict:
    """The gallery row of a display step: input, target and predicted maps, and the painted half."""
    belt = torch.sigmoid(out[2]) if cfg.belt_bce_logits else out[2]
    mean = torch.tensor((0.485, 0.456, 0.406), device=x.device).view(3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225), device=x.device).view(3, 1, 1)
    vis = {"input_image": to_uint8(x[0] * std + mean),
           "target_maps": render_maps(heat_t[0], paf_t[0], belt_t[0], cfg.image_size),
           "predicted_maps": render_maps(out[0][0], out[1][0], belt[0], cfg.image_size)}
    if cond is not None and len(cond):
        vis["gan_condition"] = render_condition(cond[0].cpu())
        vis["gan_painted"] = to_uint8(fake[0], (-1, 1))
    return vis
