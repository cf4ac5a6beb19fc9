"""Training loops of DeepNAG (soft-DTW loss, one Adam step per batch) and DeepGAN (WGAN-GP).

A run lives in `<log_dir>/deepnag/<run name>/` (a new folder per invocation, `-2`, `-3` ... when the name is
taken; `--resume` continues one), set up by motionkit's run lifecycle (lock, seeding, config.yaml, logging, DDP
and its teardown): metrics.jsonl (+ tb/ with --use-tensorboard=1, the original's tags), ckpt_*.pt / last.pt
every `checkpoint_every` and at the end (all kept unless `keep_checkpoints`), best.pt (lowest epoch-mean loss for
DeepNAG; DeepGAN: `deepgan_best`), loss.png and the rendered samples.
Runs under torchrun with DDP: each process takes its shard of every epoch; rank 0 logs and checkpoints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import yaml

from deepnag.config import Config
from deepnag.data import PreparedData, epoch_batches, load_gesture_set, pick_partners, prepare
from deepnag.losses import critic_loss, deepnag_loss, generator_adv_loss
from deepnag.models import build_critic, build_generator
from deepnag.tblog import OriginalTensorBoard
from motionkit.config import config_to_dict
from motionkit.errors import CheckpointError, ConfigError, NonFiniteLossError
from motionkit.run import start_run
from motionkit.training import check_finite, save_checkpoint
from motionkit.training.ddp import all_reduce_mean, average_gradients, barrier, wrap_ddp
from motionkit.training.divergence import diverged_tensor
from motionkit.viz import plot_curves

# config fields a resumed run may change (anything else would not match the saved weights or data order)
MUTABLE_ON_RESUME = {
    "lr", "beta0", "beta1",  # applied to the restored optimiser (e.g. a lower lr after a divergence)
    "epochs", "checkpoint_every", "keep_checkpoints", "vis_frequency", "log_every", "use_tensorboard",
    "render_after_training", "device", "data_root", "datapath", "log_dir", "run_name", "experiment_name",
    "eval_samples_per_class", "eval_seed", "gif_classes",
}


def apply_optimiser_settings(optimisers, cfg: Config, logger) -> None:
    """After a resume: the config's lr and betas replace the ones stored with the optimiser state (a no-op
    when unchanged, so an unchanged resume stays bit-identical)."""
    for opt in optimisers:
        for group in opt.param_groups:
            new = {"lr": cfg.lr, "betas": (cfg.beta0, cfg.beta1)}
            for key, value in new.items():
                if tuple(np.atleast_1d(group[key])) != tuple(np.atleast_1d(value)):
                    logger.info(f"optimiser {key}: {group[key]} -> {value} (from the config)")
                    group[key] = value


def check_weights(module: torch.nn.Module, epoch: int, lr: float) -> None:
    """After an optimiser step: stop with one line when a weight is non-finite or exploded, before the next
    forward pass turns it into NaN samples (the last checkpoint stays the last good state)."""
    bad = diverged_tensor({"": module})
    if bad is not None:
        raise NonFiniteLossError(
            f"training diverged at epoch/step {epoch + 1}: a generator or critic weight is {bad[1]:.3g} after "
            f"an update with --lr {lr:g}; nothing of it was saved (the last checkpoint, if any, is intact): start "
            "again with a lower --lr, or continue the last checkpoint with a lower --lr and --resume")


def check_restored(modules: dict, path: Path) -> None:
    """After a resume: weights or optimiser moments that are non-finite or exploded (a checkpoint saved by a
    diverged run of an older version) are one line naming the file, before they turn into NaN losses."""
    bad = diverged_tensor(modules)
    if bad is not None:
        raise CheckpointError(f"{path}: its {bad[0].split('.')[0]} state is not finite or has exploded (saved by a "
                              "diverged run); copy an earlier ckpt_*.pt over it, or start a new run without --resume")


def shard_size(n_samples: int, world_size: int) -> int:
    """The samples every epoch uses: the largest multiple of the process count (equal shards under DDP).
    Fewer samples than processes would leave every process without a batch: one line instead."""
    if n_samples < world_size:
        raise ConfigError(f"the data set has {n_samples} samples, fewer than the {world_size} processes of this run; "
                          "start fewer processes (torchrun --nproc_per_node)")
    return n_samples - n_samples % world_size


def checkpoint_extra(cfg: Config, data: PreparedData, **more) -> dict:
    """What evaluation needs besides the weights: the config, the class list and the normaliser."""
    return {"config": config_to_dict(cfg), "class_names": data.class_names, "kind": data.kind,
            "n_features": data.n_features, "normalizer": data.normalizer.state_dict(), **more}


def train(cfg: Config, resume: str | None = None) -> Path:
    """Train cfg.model on cfg.dataset; returns the run folder. resume: None (new run), "" (latest), or a run."""
    with start_run(cfg, package="deepnag", run_name=cfg.resolved_run_name(), log_root=cfg.log_dir, resume=resume,
                   device=cfg.device, seed=cfg.seed, use_tensorboard=False, mutable_on_resume=MUTABLE_ON_RESUME,
                   keep_last=cfg.keep_checkpoints or None) as run:
        with record_follows_weights(cfg, run):
            data = _load_data(cfg, run)
            generator = build_generator(cfg, data.n_classes, data.n_features).to(run.device)
            tb = OriginalTensorBoard(run.dir, cfg.model, cfg.use_tensorboard and run.is_main)
            try:
                loop = _train_deepnag if cfg.model == "DeepNAG" else _train_deepgan
                loop(cfg, run, data, generator, tb)
            finally:
                tb.close()
        if run.is_main:
            _finish(cfg, run, data, generator)
    return run.dir


@contextlib.contextmanager
def record_follows_weights(cfg: Config, run):
    """A resume that changed settings (say --lr 1e30) and then fails before it writes a checkpoint puts the run's
    config.yaml back to the saved values: the record keeps describing last.pt, and a plain --resume afterwards
    does not repeat the failed setting. A failure after a checkpoint keeps the new values (last.pt has them)."""
    last = run.dir / "last.pt"
    before = last.stat().st_mtime_ns if last.is_file() else None
    try:
        yield
    except BaseException:
        after = last.stat().st_mtime_ns if last.is_file() else None
        if run.is_main and run.resuming and run.config_changes and after == before:
            _restore_config(cfg, run)
        raise


def _restore_config(cfg: Config, run) -> None:
    try:
        old = dataclasses.replace(cfg, **{k: old for k, (old, _) in run.config_changes.items()})
        tmp = run.dir / ".config.yaml.tmp"
        tmp.write_text(yaml.safe_dump(config_to_dict(old), sort_keys=False))
        os.replace(tmp, run.dir / "config.yaml")
    except (OSError, ValueError, TypeError):  # a full disk: the failure itself is what the user must see
        return
    run.logger.info(f"{run.dir / 'config.yaml'}: back to the settings of last.pt ("
                    + ", ".join(f"{k}: {old!r}" for k, (old, _) in run.config_changes.items())
                    + "): no checkpoint was written with the changed ones")


def _load_data(cfg: Config, run) -> PreparedData:
    if run.is_main:  # write a synthetic set once before the other ranks read it
        data = prepare(load_gesture_set(cfg), cfg.resample_n)
    barrier(run.env)
    if not run.is_main:
        data = prepare(load_gesture_set(cfg), cfg.resample_n)
    run.logger.info(f"data: {cfg.dataset}, {len(data.x)} samples, {data.n_classes} classes, "
                    f"{data.n_features} features, resampled to {cfg.resample_n} points")
    return data


def _finish(cfg: Config, run, data: PreparedData, generator) -> None:
    curves = {k: v for k, v in run.logger.history().items() if k != "epoch_seconds"}
    plot_curves(run.dir / "loss.png", curves, title=f"{cfg.model} on {cfg.dataset}", logy=True)
    if cfg.render_after_training:
        from deepnag.render import render_samples

        for path in render_samples(generator, data, run.dir, cfg):
            run.logger.info(f"rendered {path}")
    run.logger.info(f"loss curves: {run.dir / 'loss.png'}; checkpoint: {run.dir / 'last.pt'}")


def _const_latent_figure(cfg, data, generator, tb, epoch: int) -> None:
    """Every vis_frequency epochs: the original's constant-latent figure (pen data only, as the original)."""
    if tb.writer is None or not cfg.vis_frequency or epoch % cfg.vis_frequency or data.kind != "pen":
        return
    from deepnag.render import pen_grid_figure

    tb.figure("const_latent", pen_grid_figure(generator, data, cfg), epoch)


def _train_deepnag(cfg, run, data, generator, tb):
    device = run.device
    opt = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta0, cfg.beta1))
    modules = {"generator": generator, "optimizer": opt}
    start, extra = run.checkpointer.resume(modules, map_location=device)
    check_restored(modules, run.dir / "last.pt")
    run.check_not_finished(start, cfg.epochs)
    apply_optimiser_settings([opt], cfg, run.logger)
    best = extra.get("best_loss", float("inf"))
    run.logger.truncate_after(start)
    model = wrap_ddp(generator, run.env)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")
    x, labels = data.x.to(device), data.labels.to(device)
    labels_np = data.labels.numpy()
    n_used = shard_size(len(x), run.env.world_size)  # equal shards, so every rank runs the same number of steps
    per_epoch = len(epoch_batches(n_used, cfg.batch_size, cfg.seed, 0, run.env.rank, run.env.world_size))
    # the bar is closed (ends its line) before any error line is printed
    with run.logger.progress(cfg.epochs * per_epoch, desc="DeepNAG steps", initial=start * per_epoch) as bar:
        for epoch in range(start, cfg.epochs):
            t0 = time.perf_counter()
            partner_rng = random.Random(cfg.seed * 1_000_003 + epoch)  # real2 picking, reproducible per epoch
            sums, steps = defaultdict(float), 0
            for idx in epoch_batches(n_used, cfg.batch_size, cfg.seed, epoch, run.env.rank, run.env.world_size):
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
                check_weights(generator, epoch, cfg.lr)
                for k, v in losses.items():
                    sums[k] += float(v.detach())
                steps += 1
                bar.update(1)
            means = {k: float(all_reduce_mean(torch.tensor(v / steps), run.env)) for k, v in sums.items()}
            means["epoch_seconds"] = time.perf_counter() - t0
            done = epoch + 1
            if done % cfg.log_every == 0 or done == cfg.epochs:
                run.logger.log(done, **means)
            if means["loss"] < best:
                best = means["loss"]
                if run.is_main:
                    save_checkpoint(run.dir / "best.pt", {
                        "step": done, "modules": {"generator": generator.state_dict()},
                        "extra": checkpoint_extra(cfg, data, best_loss=best)})
            tb.epoch(epoch, means, "loss", best)
            _const_latent_figure(cfg, data, generator, tb, epoch)
            if (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or done == cfg.epochs:
                run.checkpointer.save(done, modules, checkpoint_extra(cfg, data, best_loss=best))
            bar.set_postfix(epoch=done, loss=f"{means['loss']:.4g}", ed=f"{means['loss_ed']:.4g}",
                            cos=f"{means['loss_cos']:.4g}", res=f"{means['loss_resample']:.3g}")


def _is_better_deepgan(rule: str, candidate: float, best: float) -> bool:
    """DeepGAN's best step: "original" = lowest neg_loss_d of the last critic iteration (the original keeps the
    minimum of its metric); "highest-mean" = highest mean neg_loss_d over the critic iterations."""
    return candidate < best if rule == "original" else candidate > best


def _train_deepgan(cfg, run, data, generator, tb):
    """WGAN-GP: per generator step, `critic_iters` critic updates on the first batches of a freshly shuffled
    epoch (the original re-creates its data iterator every step), then one generator update on the labels of
    the last critic batch. cfg.epochs counts generator steps."""
    device = run.device
    critic = build_critic(cfg, data.n_classes, data.n_features).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta0, cfg.beta1))
    opt_d = torch.optim.Adam(critic.parameters(), lr=cfg.lr, betas=(cfg.beta0, cfg.beta1))
    modules = {"generator": generator, "critic": critic, "optimizer": opt_g, "optimizer_critic": opt_d}
    start, extra = run.checkpointer.resume(modules, map_location=device)
    check_restored(modules, run.dir / "last.pt")
    run.check_not_finished(start, cfg.epochs, unit="generator step")
    apply_optimiser_settings([opt_g, opt_d], cfg, run.logger)
    best = extra.get("best_neg_loss_d", float("inf") if cfg.deepgan_best == "original" else -float("inf"))
    run.logger.truncate_after(start)
    # the critic is not DDP-wrapped: DDP does not support the gradient penalty's autograd.grad(create_graph=True);
    # its gradients are averaged over the ranks by hand instead
    gen = wrap_ddp(generator, run.env)
    x, labels = data.x.to(device), data.labels.to(device)
    n_used = shard_size(len(x), run.env.world_size)
    with run.logger.progress(cfg.epochs, desc="DeepGAN generator steps", initial=start) as bar:
        for step in range(start, cfg.epochs):
            batches = epoch_batches(n_used, cfg.batch_size, cfg.seed, step, run.env.rank, run.env.world_size)
            sums = defaultdict(float)
            for p in critic.parameters():
                p.requires_grad_(True)
            for it in range(cfg.critic_iters):
                idx = torch.as_tensor(batches[it % len(batches)], device=device)
                real, y = x[idx], labels[idx]
                with torch.no_grad():
                    fake = generator(torch.randn(len(y), cfg.resample_n, cfg.latent_dim, device=device), y)
                losses = critic_loss(critic, real, fake, y, cfg.gp_lambda)
                check_finite({"loss_d": losses["loss_d"]}, step)
                opt_d.zero_grad(set_to_none=True)
                losses["loss_d"].backward()
                average_gradients(critic, run.env)
                opt_d.step()
                check_weights(critic, step, cfg.lr)
                for k, v in losses.items():
                    sums[k] += float(v.detach()) / cfg.critic_iters
            last = {k: float(v.detach()) for k, v in losses.items()}  # the original logs the last critic iteration
            last_neg_loss_d = float(all_reduce_mean(losses["neg_loss_d"].detach(), run.env))
            for p in critic.parameters():
                p.requires_grad_(False)
            fake = gen(torch.randn(len(y), cfg.resample_n, cfg.latent_dim, device=device), y)
            loss_g = generator_adv_loss(critic, fake, y)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            check_weights(generator, step, cfg.lr)
            sums["loss_g"] = float(loss_g.detach())
            means = {k: float(all_reduce_mean(torch.tensor(v), run.env)) for k, v in sums.items()}
            done = step + 1
            if done % cfg.log_every == 0 or done == cfg.epochs:
                run.logger.log(done, **means)
            candidate = last_neg_loss_d if cfg.deepgan_best == "original" else means["neg_loss_d"]
            if _is_better_deepgan(cfg.deepgan_best, candidate, best):
                best = candidate
                if run.is_main:
                    save_checkpoint(run.dir / "best.pt", {
                        "step": done, "modules": {"generator": generator.state_dict()},
                        "extra": checkpoint_extra(cfg, data, best_neg_loss_d=best)})
            tb.epoch(step, {**last, "loss_g": means["loss_g"]}, "neg_loss_d", best)
            _const_latent_figure(cfg, data, generator, tb, step)
            if (cfg.checkpoint_every and done % cfg.checkpoint_every == 0) or done == cfg.epochs:
                run.checkpointer.save(done, modules, checkpoint_extra(cfg, data, best_neg_loss_d=best))
            bar.update(1)
            bar.set_postfix(loss_d=f"{means['loss_d']:.4g}", loss_g=f"{means['loss_g']:.4g}")
        for p in critic.parameters():
            p.requires_grad_(True)
