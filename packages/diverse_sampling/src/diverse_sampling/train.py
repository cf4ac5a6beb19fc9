"""Training loops of both stages (t1: CVAE, t2: sampler with the frozen CVAE decoder), read top to bottom.

An "epoch" is ``windows_per_epoch`` random training windows; the learning rate is constant for ``lr_fix_epochs``
and then decays linearly (LambdaLR stepped per epoch); validation every ``eval_every`` epochs, checkpoints every
``save_every`` epochs and at the end. The run folder, seeding, printed/saved config, logging, lock and DDP
teardown come from ``motionkit.run.start_run``: every invocation writes a new folder
``<log_dir>/diverse_sampling/<run_name>[-N]``; ``resume`` continues one and ends where an uninterrupted run ends.
Under torchrun each rank takes a disjoint shard of the epoch's windows.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import torch

from diverse_sampling import paths
from diverse_sampling.config import PACKAGE, Config
from diverse_sampling.data.dataset import TrainWindows, build_test_set, load_split
from diverse_sampling.data.derived import load_or_build_pool, load_or_build_valid_angles
from diverse_sampling.data.io import write_atomic
from diverse_sampling.data.layout import get_layout
from diverse_sampling.divergence import check_losses, check_weights, diverged
from diverse_sampling.losses import t1_loss, t2_loss
from diverse_sampling.metrics import evaluate_model
from diverse_sampling.models import (
    build_cvae,
    build_sampler,
    check_cvae_pairing,
    checkpoint_kind,
    load_cvae,
    t2_predict,
    weights_digest,
)
from motionkit.errors import CheckpointError, ConfigError
from motionkit.run import Run, start_run
from motionkit.runfolder import resolve_run_dir
from motionkit.training.ddp import barrier, make_loader, set_loader_epoch, wrap_ddp

# Fields a resumed run may not change: the saved weights (and the data they were shaped by) would not fit them.
# Any other change applies and is logged ("lr: 0.001 -> 0.0005"); the learning rate is re-based on resume.
FIXED_ON_RESUME = {
    "stage", "dataset", "t_his", "t_pred", "dct_n", "hidden_dim", "z_dim", "cvae_enc_blocks", "cvae_dec_blocks",
    "sampler_enc_blocks", "n_bases", "base_dim", "ngamma_hidden", "dropout", "cls_hidden", "cls_layers", "cls_feat",
}


def lr_lambda(cfg: Config):
    """1 - max(0, e - fix) / (epochs - fix + 1), fix = min(lr_fix_epochs, epochs - 1): the original's linear decay
    (a fix at or beyond the run's end keeps the rate constant throughout, as the original formula does)."""
    fix = min(cfg.lr_fix_epochs, cfg.epochs - 1)
    return lambda e: 1.0 - max(0, e - fix) / float(cfg.epochs - fix + 1)


def train(cfg: Config, resume: str | None = None, init_from: str | Path | None = None) -> dict:
    """Train stage ``cfg.stage`` in a new run folder (or the ``resume``d one); returns the final metrics.

    ``init_from``: a checkpoint (ours or the authors' released ``.pth``) whose weights the model starts from, as
    the original's ``--is_load=1 --is_train=1`` fine-tunes ``./ckpt/pretrained/<exp_name>.pth``.
    """
    mutable = {f.name for f in dataclasses.fields(cfg)} - FIXED_ON_RESUME
    _check_before_start(cfg, init_from, resume)
    with start_run(cfg, package=PACKAGE, run_name=cfg.resolved_run_name(), log_root=cfg.log_dir, resume=resume,
                   device=cfg.device, seed=cfg.seed, use_tensorboard=cfg.tensorboard,
                   mutable_on_resume=mutable) as run:
        return _train(cfg, run, init_from)


def _check_before_start(cfg: Config, init_from: str | Path | None, resume: str | None) -> None:
    """Before a run folder is made or its record rewritten: every process gets at least one batch per epoch;
    the checkpoints a run starts from (t2's frozen CVAE, a fine-tuned file) are read, a missing, damaged or
    foreign one being one line; and on a t2 resume the CVAE is the one the saved sampler was trained with."""
    world = int(os.environ.get("WORLD_SIZE", "1"))  # torchrun's processes; each takes 1/world of an epoch
    if cfg.windows_per_epoch // world < cfg.batch_size:
        raise ConfigError(f"windows_per_epoch = {cfg.windows_per_epoch} over {world} processes leaves each fewer "
                          f"than batch_size = {cfg.batch_size} windows: an epoch would train nothing")
    if cfg.stage == "t2":
        t1_path = paths.t1_checkpoint(cfg)
        cvae = load_cvae(t1_path, cfg)
        last = _resumed_checkpoint(cfg, resume)
        if last is not None:
            check_cvae_pairing(last, cvae, t1_path)
    if init_from is not None and resume is None:
        kind, found = ("cvae" if cfg.stage == "t1" else "sampler"), checkpoint_kind(init_from)
        if found != kind:
            raise CheckpointError(f"{init_from}: holds a {found}; stage {cfg.stage} needs a {kind} here")


def _resumed_checkpoint(cfg: Config, resume: str | None) -> Path | None:
    """``last.pt`` of the run that ``resume`` names, if there is one (start_run reports a missing run)."""
    if resume is None:
        return None
    try:
        run_dir, _ = resolve_run_dir(cfg.log_dir, PACKAGE, cfg.resolved_run_name(), resume)
    except ConfigError:
        return None
    last = Path(run_dir) / "last.pt"
    return last if last.is_file() else None


def _train(cfg: Config, run: Run, init_from: str | Path | None) -> dict:
    device, log = run.device, run.logger
    parents = get_layout(cfg.dataset).node_parents
    train_data = load_split(cfg, "train")
    pool = bounds = None
    if cfg.stage == "t1":
        if cfg.pseudo_future_prob > 0:
            pool = load_or_build_pool(cfg, train_data, log=log.info)
            log.info(f"candidate pool: {len(pool.dirs)} entries, {100 * pool.coverage():.1f}% of start frames "
                     "have candidates")
        if cfg.w_angle > 0:
            bounds = load_or_build_valid_angles(cfg, train_data, log=log.info)
    barrier(run.env)
    test = build_test_set(cfg) if run.is_main else None

    saved_extra: dict = {"stage": cfg.stage}  # stored with every checkpoint, besides the latest metrics
    if cfg.stage == "t1":
        model = build_cvae(cfg).to(device)
        cvae = model
    else:
        t1_path = paths.t1_checkpoint(cfg)
        log.info(f"t2 decodes with the frozen CVAE of {t1_path}")
        cvae = load_cvae(t1_path, cfg, device)
        saved_extra.update(t1_checkpoint=str(t1_path), t1_digest=weights_digest(cvae))  # checked on resume
        model = build_sampler(cfg).to(device)
    key = "cvae" if cfg.stage == "t1" else "sampler"
    if init_from is not None and not run.resuming:
        _init_weights(model, init_from, cfg, key, log)
    log.info(f"{cfg.stage}: {type(model).__name__} with {sum(p.numel() for p in model.parameters()) / 1e6:.3f} M "
             "trainable parameters")
    net = wrap_ddp(model, run.env)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg))
    modules = {key: model, "optimizer": opt, "scheduler": sched}
    start, extra = resume_state(run, modules, device)
    run.check_not_finished(start, cfg.epochs)
    if start:
        _rebase_lr(opt, sched, cfg, log)

    dataset = TrainWindows(train_data, cfg, pool)
    loader = make_loader(dataset, cfg.batch_size, run.env, shuffle=False, seed=cfg.seed,
                         num_workers=cfg.num_workers)
    metrics: dict = extra.get("metrics", {})
    bar = log.progress(cfg.epochs * len(loader), desc=run.dir.name, initial=start * len(loader))
    saved = start  # the epoch last.pt holds (0: none yet)
    try:  # the bar closes before an error is printed, so the error line is the last line
        for epoch in range(start, cfg.epochs):
            dataset.set_epoch(epoch)
            torch.manual_seed(cfg.seed * 100003 + epoch * 101 + run.env.rank)  # per epoch & rank: exact resume
            set_loader_epoch(loader, epoch)
            model.train()
            if cfg.stage == "t2":
                cvae.eval()  # the frozen CVAE keeps its BatchNorm running statistics
            sums: dict[str, float] = {}
            n_batches = 0
            for window, _ in loader:
                if window.shape[0] >= 2:  # BatchNorm cannot take a batch of one (the original skips it too)
                    with diverged(run.dir, epoch + 1, saved):
                        terms = _step(cfg, net, cvae, window.to(device), opt, model, parents, bounds)
                    for k, v in terms.items():
                        sums[k] = sums.get(k, 0.0) + v
                    n_batches += 1
                    bar.set_postfix(epoch=epoch + 1, loss=f"{terms['total']:.4g}", refresh=False)
                bar.update(1)
            sched.step()
            means = {f"loss/{k}": v / max(n_batches, 1) for k, v in sums.items()}
            log.log(epoch + 1, lr=opt.param_groups[0]["lr"], **means)
            last = epoch + 1 == cfg.epochs
            if run.is_main and cfg.eval_every > 0 and ((epoch + 1) % cfg.eval_every == 0 or last):
                metrics = evaluate_model(cfg, cvae, model if cfg.stage == "t2" else None, test, device)
                log.log(epoch + 1, **{f"eval/{k}": v for k, v in metrics.items()})
                log.info(f"epoch {epoch + 1}: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
            if (cfg.save_every > 0 and (epoch + 1) % cfg.save_every == 0) or last:
                with diverged(run.dir, epoch + 1, saved):
                    check_weights(model, opt)
                run.checkpointer.save(epoch + 1, modules, extra={"metrics": metrics, **saved_extra})
                saved = epoch + 1
            barrier(run.env)
    finally:
        bar.close()
    if run.is_main:
        _write_summary(cfg, run, metrics)
    return metrics


def resume_state(run: Run, modules: dict, device) -> tuple[int, dict]:
    """Restore ``modules`` from the run's ``last.pt`` when resuming; returns (epoch reached, checkpoint extra).

    The logged history is cut back to that epoch (no row repeats after a resume). Without ``last.pt`` (killed
    between the two writes of a checkpoint) the newest ``ckpt_N.pt`` is resumed, never a silent restart."""
    source = run.checkpointer.latest_path()
    start, extra = run.checkpointer.resume(modules, map_location=device)
    if not run.resuming:
        return start, extra
    run.logger.truncate_after(start)
    if start:
        run.logger.info(f"resumed from {source} at epoch {start}")
    return start, extra


def _rebase_lr(opt, sched, cfg: Config, log) -> None:
    """Apply the config's ``lr`` to a restored optimizer (the checkpoint holds the old one): the schedule continues
    from the new base rate."""
    if sched.base_lrs != [cfg.lr]:
        log.info(f"learning rate re-based on resume: {sched.base_lrs[0]} -> {cfg.lr}")
        sched.base_lrs = [cfg.lr]
        for group in opt.param_groups:
            group["initial_lr"] = cfg.lr
            group["lr"] = cfg.lr * lr_lambda(cfg)(sched.last_epoch)


def _step(cfg: Config, net, cvae, window: torch.Tensor, opt, model, parents, bounds) -> dict:
    """One optimiser step on a batch of windows (B, T, D); returns the logged loss terms."""
    if cfg.stage == "t1":
        pred, mean, logvar = net(window)
        loss, terms = t1_loss(pred, window, mean, logvar, cfg, parents, bounds)
    else:
        pred, mean, logvar = t2_predict(cvae, net, window[:, : cfg.t_his], cfg.nk, cfg.share_eps_train)
        loss, terms = t2_loss(pred[:, :, cfg.t_his :], window[:, cfg.t_his :], mean, logvar, cfg)
    check_losses(terms)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    opt.step()
    return terms


def _init_weights(model: torch.nn.Module, path: str | Path, cfg: Config, key: str, log) -> None:
    """Start from the weights of ``path`` (fine-tuning; optimizer and epoch start fresh, as in the original)."""
    from diverse_sampling.models import load_sampler

    source = load_cvae(path, cfg, frozen=False) if key == "cvae" else load_sampler(path, cfg)
    model.load_state_dict(source.state_dict())
    log.info(f"initialised the {key} from {path}")


def _write_summary(cfg: Config, run: Run, metrics: dict) -> None:
    """``final_metrics.json`` and ``loss_curves.png`` in the run folder."""
    text = json.dumps(metrics, indent=1)
    write_atomic(run.dir / "final_metrics.json", lambda f: f.write(text.encode()))
    try:
        from motionkit.viz import plot_curves
    except ImportError:
        return
    hist = run.logger.history()
    if hist:
        plot_curves(run.dir / "loss_curves.png", {k: v for k, v in hist.items() if k.startswith("loss/")},
                    title=cfg.exp_name)
