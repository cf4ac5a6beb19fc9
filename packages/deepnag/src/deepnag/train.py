"""Training loops of DeepNAG (soft-DTW loss, one Adam step per batch) and DeepGAN (WGAN-GP).

A run lives in `<log_dir>/<run_name>/`: config.yaml, metrics.jsonl (+ tb/ with --use-tensorboard=1),
ckpt_*.pt / last.pt (every `checkpoint_every` and at the end; re-running the same command resumes from
last.pt and ends exactly where an uninterrupted run would), best.pt (lowest epoch-mean loss for DeepNAG,
highest -critic loss for DeepGAN, as the original), loss.png and the rendered samples.
Runs under torchrun with DDP: each process takes its shard of every epoch; rank 0 logs and checkpoints.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path

import torch

from deepnag.config import Config
from deepnag.data import PreparedData, epoch_batches, load_gesture_set, pick_partners, prepare
from deepnag.losses import critic_loss, deepnag_loss, generator_adv_loss
from deepnag.models import DeepGANCritic, DeepNAGNet
from motionkit.config import format_config, save_config
from motionkit.training import Checkpointer, RunLogger, check_finite, save_checkpoint, seed_everything
from motionkit.training.ddp import all_reduce_mean, barrier, cleanup, init_distributed, wrap_ddp
from motionkit.viz import plot_curves


def build_generator(cfg: Config, n_classes: int, n_features: int) -> DeepNAGNet:
    return DeepNAGNet(n_classes, n_features, cfg.latent_dim, cfg.generator_hidden)


def checkpoint_extra(cfg: Config, data: PreparedData, **more) -> dict:
    """What evaluation needs besides the weights: the config, the class list and the normaliser."""
    from motionkit.config import config_to_dict

    return {"config": config_to_dict(cfg), "class_names": data.class_names, "kind": data.kind,
            "n_features": data.n_features, "normalizer": data.normalizer.state_dict(), **more}


def train(cfg: Config) -> Path:
    """Train cfg.model on cfg.dataset; returns the run folder."""
    env = init_distributed(device=cfg.device)
    device = env.device
    seed_everything(cfg.seed + env.rank)
    run_dir = Path(cfg.log_dir) / cfg.resolved_run_name()
    logger = RunLogger(run_dir, use_tensorboard=cfg.use_tensorboard, enabled=env.is_main)
    logger.info(format_config(cfg))
    if env.is_main:
        save_config(cfg, run_dir / "config.yaml")

    if env.is_main:  # write a synthetic set once before the other ranks read it
        data = prepare(load_gesture_set(cfg), cfg.resample_n)
    barrier(env)
    if not env.is_main:
        data = prepare(load_gesture_set(cfg), cfg.resample_n)
    logger.info(f"data: {cfg.dataset}, {len(data.x)} samples, {data.n_classes} classes, "
                f"{data.n_features} features, resampled to {cfg.resample_n} points; run folder {run_dir}")

    generator = build_generator(cfg, data.n_classes, data.n_features).to(device)
    ckpt = Checkpointer(run_dir, keep_last=2, enabled=env.is_main)
    try:
        if cfg.model == "DeepNAG":
            _train_deepnag(cfg, env, data, generator, ckpt, logger, run_dir)
        else:
            _train_deepgan(cfg, env, data, generator, ckpt, logger, run_dir)
        if env.is_main:
            curves = {k: v for k, v in logger.history().items() if k != "epoch_seconds"}
            plot_curves(run_dir / "loss.png", curves, title=f"{cfg.model} on {cfg.dataset}", logy=True)
            if cfg.render_after_training:
                from deepnag.evaluate import render_samples

                for path in render_samples(generator, data, run_dir, cfg):
                    logger.info(f"rendered {path}")
            logger.info(f"loss curves: {run_dir / 'loss.png'}; checkpoint: {run_dir / 'last.pt'}")
    finally:
        logger.close()
        cleanup(env)
    return run_dir


def _train_deepnag(cfg, env, data, generator, ckpt, logger, run_dir):
    device = env.device
    opt = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta0, cfg.beta1))
    modules = {"generator": generator, "optimizer": opt}
    start, extra = ckpt.resume(modules, map_location=device)
    best = extra.get("best_loss", float("inf"))
    if start:
        logger.info(f"resumed from {ckpt.latest_path()} at epoch {start}")
    logger.truncate_after(start)
    model = wrap_ddp(generator, env)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")
    x, labels = data.x.to(device), data.labels.to(device)
    labels_np = data.labels.numpy()
    n_used = len(x) - len(x) % env.world_size  # equal shards, so every rank runs the same number of steps
    bar = logger.progress(cfg.epochs, desc="DeepNAG epochs", initial=start)
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        partner_rng = random.Random(cfg.seed * 1_000_003 + epoch)  # real2 picking, reproducible per epoch
        sums, steps = defaultdict(float), 0
        for idx in epoch_batches(n_used, cfg.batch_size, cfg.seed, epoch, env.rank, env.world_size):
            partners = torch.as_tensor(pick_partners(idx, labels_np, partner_rng), device=device)
            idx = torch.as_tensor(idx, device=device)
            real1, real2, y = x[idx], x[partners], labels[idx]
            z1 = torch.randn(len(y), cfg.resample_n, cfg.latent_dim, device=device)
            z2 = torch.randn(len(y), cfg.resample_n, cfg.latent_dim, device=device)
            with autocast:
                fake1 = model(z1, y)
                with torch.no_grad():
                    fake2 = generator(z2, y)
            losses = deepnag_loss(real1, real2, fake1, fake2, y, cfg.sdtw_gamma, cfg.resample_weight,
                                  cfg.resample_target_divides_by_t)
            check_finite({"loss": losses["loss"]}, epoch)
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            opt.step()
            for k, v in losses.items():
                sums[k] += float(v.detach())
            steps += 1
        means = {k: float(all_reduce_mean(torch.tensor(v / steps), env)) for k, v in sums.items()}
        means["epoch_seconds"] = time.perf_counter() - t0
        epoch_done = epoch + 1
        if epoch_done % cfg.log_every == 0 or epoch_done == cfg.epochs:
            logger.log(epoch_done, **means)
        if means["loss"] < best:
            best = means["loss"]
            if env.is_main:
                save_checkpoint(run_dir / "best.pt", {
                    "step": epoch_done, "modules": {"generator": generator.state_dict()},
                    "extra": checkpoint_extra(cfg, data, best_loss=best)})
        if epoch_done % cfg.checkpoint_every == 0 or epoch_done == cfg.epochs:
            ckpt.save(epoch_done, modules, checkpoint_extra(cfg, data, best_loss=best))
        bar.update(1)
        bar.set_postfix(loss=f"{means['loss']:.4g}", ed=f"{means['loss_ed']:.4g}", cos=f"{means['loss_cos']:.4g}",
                        res=f"{means['loss_resample']:.3g}")
    bar.close()


def _train_deepgan(cfg, env, data, generator, ckpt, logger, run_dir):
    """WGAN-GP: per generator step, `critic_iters` critic updates on the first batches of a freshly shuffled
    epoch (the original re-creates its data iterator every step), then one generator update on the labels of
    the last critic batch. cfg.epochs counts generator steps."""
    device = env.device
    critic = DeepGANCritic(data.n_classes, data.n_features, cfg.critic_hidden).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta0, cfg.beta1))
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.lr, betas=(cfg.beta0, cfg.beta1))
    modules = {"generator": generator, "critic": critic, "optimizer": opt_g, "optimizer_critic": opt_d}
    start, extra = ckpt.resume(modules, map_location=device)
    best = extra.get("best_neg_loss_d", -float("inf"))
    if start:
        logger.info(f"resumed from {ckpt.latest_path()} at step {start}")
    logger.truncate_after(start)
    # the critic is not DDP-wrapped: DDP does not support the gradient penalty's autograd.grad(create_graph=True);
    # its gradients are averaged over the ranks by hand instead
    gen, crit = wrap_ddp(generator, env), critic
    x, labels = data.x.to(device), data.labels.to(device)
    n_used = len(x) - len(x) % env.world_size
    bar = logger.progress(cfg.epochs, desc="DeepGAN generator steps", initial=start)
    for step in range(start, cfg.epochs):
        batches = epoch_batches(n_used, cfg.batch_size, cfg.seed, step, env.rank, env.world_size)
        sums = defaultdict(float)
        for p in critic.parameters():
            p.requires_grad_(True)
        for it in range(cfg.critic_iters):
            idx = torch.as_tensor(batches[it % len(batches)], device=device)
            real, y = x[idx], labels[idx]
            with torch.no_grad():
                fake = generator(torch.randn(len(y), cfg.resample_n, cfg.latent_dim, device=device), y)
            losses = critic_loss(crit, real, fake, y, cfg.gp_lambda)
            check_finite({"loss_d": losses["loss_d"]}, step)
            opt_d.zero_grad(set_to_none=True)
            losses["loss_d"].backward()
            _average_gradients(critic, env)
            opt_d.step()
            for k, v in losses.items():
                sums[k] += float(v.detach()) / cfg.critic_iters
        for p in critic.parameters():
            p.requires_grad_(False)
        fake = gen(torch.randn(len(y), cfg.resample_n, cfg.latent_dim, device=device), y)
        loss_g = generator_adv_loss(critic, fake, y)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        sums["loss_g"] = float(loss_g.detach())
        means = {k: float(all_reduce_mean(torch.tensor(v), env)) for k, v in sums.items()}
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.epochs:
            logger.log(done, **means)
        if means["neg_loss_d"] > best:
            best = means["neg_loss_d"]
            if env.is_main:
                save_checkpoint(run_dir / "best.pt", {
                    "step": done, "modules": {"generator": generator.state_dict()},
                    "extra": checkpoint_extra(cfg, data, best_neg_loss_d=best)})
        if done % cfg.checkpoint_every == 0 or done == cfg.epochs:
            ckpt.save(done, modules, checkpoint_extra(cfg, data, best_neg_loss_d=best))
        bar.update(1)
        bar.set_postfix(loss_d=f"{means['loss_d']:.4g}", loss_g=f"{means['loss_g']:.4g}")
    for p in critic.parameters():
        p.requires_grad_(True)
    bar.close()


def _average_gradients(module: torch.nn.Module, env) -> None:
    """All-reduce-mean every parameter gradient over the DDP ranks (no-op in a single process)."""
    if not env.enabled:
        return
    for p in module.parameters():
        if p.grad is not None:
            torch.distributed.all_reduce(p.grad)
            p.grad /= env.world_size
