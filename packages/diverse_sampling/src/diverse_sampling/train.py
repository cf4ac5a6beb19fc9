"""Training loops of both stages (t1: CVAE, t2: sampler with the frozen CVAE decoder).

One loop serves both: an "epoch" is ``windows_per_epoch`` random training windows, the learning rate is constant
for ``lr_fix_epochs`` and then decays linearly (LambdaLR stepped per epoch), evaluation every ``eval_every``
epochs, checkpoints every ``save_every`` epochs and at the end (resumable: a restarted run ends where an
uninterrupted one would). Works under torchrun (DDP: each rank takes a disjoint shard of the epoch's windows).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from diverse_sampling.config import Config
from diverse_sampling.data.dataset import TrainWindows, build_test_set, load_split
from diverse_sampling.data.derived import load_or_build_pool, load_or_build_valid_angles
from diverse_sampling.data.layout import get_layout
from diverse_sampling.losses import t1_loss, t2_loss
from diverse_sampling.models import CVAE, DiverseSampler
from motionkit.config import config_to_dict
from motionkit.errors import CheckpointError, ConfigError
from motionkit.training import Checkpointer, RunLogger, check_finite, load_checkpoint, seed_everything
from motionkit.training.ddp import DistEnv, barrier, make_loader, set_loader_epoch, wrap_ddp


def build_cvae(cfg: Config) -> CVAE:
    n = get_layout(cfg.dataset).n_nodes
    return CVAE(n, cfg.t_his, cfg.t_pred, cfg.dct_n, cfg.hidden_dim, cfg.z_dim, cfg.cvae_enc_blocks,
                cfg.cvae_dec_blocks, cfg.dropout)


def build_sampler(cfg: Config) -> DiverseSampler:
    n = get_layout(cfg.dataset).n_nodes
    return DiverseSampler(n, 3 * cfg.dct_n, cfg.hidden_dim, cfg.sampler_enc_blocks, cfg.n_bases, cfg.base_dim,
                          cfg.ngamma_hidden, cfg.z_dim, cfg.tau, cfg.dropout)


def load_frozen_cvae(cfg: Config, device, path: str | Path | None = None) -> CVAE:
    """The t1 CVAE from its checkpoint, frozen (requires_grad False) and in eval mode (BN running stats)."""
    path = Path(path) if path else cfg.resolved_t1_checkpoint()
    if not path.is_file():
        raise CheckpointError(f"{path}: t1 checkpoint not found; train t1 first (--exp_name={cfg.dataset}_t1 "
                              "--is_train=1) or set --t1_checkpoint")
    state = load_checkpoint(path, map_location="cpu")
    cvae = build_cvae(cfg)
    try:
        cvae.load_state_dict(state["modules"]["cvae"])
    except (KeyError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: not a t1 CVAE checkpoint for this config ({str(exc)[:120]})") from None
    cvae.to(device).eval()
    for p in cvae.parameters():
        p.requires_grad_(False)
    return cvae


def lr_lambda(cfg: Config):
    """1 - max(0, e - lr_fix_epochs) / (epochs - lr_fix_epochs + 1): the original's linear decay."""
    return lambda e: 1.0 - max(0, e - cfg.lr_fix_epochs) / float(cfg.epochs - cfg.lr_fix_epochs + 1)


def t2_predict(cvae: CVAE, sampler: torch.nn.Module, his: torch.Tensor, nk: int, share_eps: bool):
    """History (B, t_his, D) -> all frames of K samples (B, K, T, D), with the sampler's mean/logvar (B, K, z)."""
    cond = cvae.condition(his)
    z, mean, logvar = sampler(cond, nk, share_eps)
    B = his.shape[0]
    pred = cvae.decode(cond.repeat_interleave(nk, 0), z.reshape(B * nk, -1))
    return pred.reshape(B, nk, cvae.t_total, -1), mean, logvar


def train(cfg: Config, env: DistEnv) -> dict:
    """Train stage ``cfg.stage``; returns the final evaluation metrics (empty on non-main ranks)."""
    from diverse_sampling.evaluate import evaluate_model  # evaluation is downstream of training

    if cfg.stage not in ("t1", "t2"):
        raise ConfigError(f"stage {cfg.stage!r} must be t1 or t2")
    if cfg.epochs <= cfg.lr_fix_epochs:
        cfg.lr_fix_epochs = max(cfg.epochs - 1, 0)
    device = env.device
    run_dir = cfg.resolved_run_dir()
    log = RunLogger(run_dir, enabled=env.is_main)
    seed_everything(cfg.seed)
    layout = get_layout(cfg.dataset)
    parents = layout.node_parents

    train_data = load_split(cfg, "train")
    pool = bounds = None
    if cfg.stage == "t1":
        if cfg.pseudo_future_prob > 0:
            pool = load_or_build_pool(cfg, train_data, log=log.info)
            log.info(f"candidate pool: {len(pool.dirs)} entries, {100 * pool.coverage():.1f}% of start frames "
                     "have candidates")
        if cfg.w_angle > 0:
            bounds = load_or_build_valid_angles(cfg, train_data, log=log.info)
    barrier(env)
    test = build_test_set(cfg) if env.is_main else None

    if cfg.stage == "t1":
        model = build_cvae(cfg).to(device)
        cvae = model
    else:
        cvae = load_frozen_cvae(cfg, device)
        model = build_sampler(cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(f"{cfg.stage}: {type(model).__name__} with {n_params / 1e6:.3f} M trainable parameters")
    net = wrap_ddp(model, env)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg))
    ckpt = Checkpointer(run_dir, enabled=env.is_main)
    key = "cvae" if cfg.stage == "t1" else "sampler"
    start, extra = ckpt.resume({key: model, "optimizer": opt, "scheduler": sched}, map_location=device)
    if start:
        log.truncate_after(start)
        log.info(f"resumed from {run_dir / 'last.pt'} at epoch {start}")

    dataset = TrainWindows(train_data, cfg, pool)
    loader = make_loader(dataset, cfg.batch_size, env, shuffle=False, seed=cfg.seed,
                         num_workers=cfg.num_workers)
    metrics: dict = extra.get("metrics", {})
    bar = log.progress(cfg.epochs, desc=cfg.exp_name, initial=start)
    for epoch in range(start, cfg.epochs):
        dataset.set_epoch(epoch)
        torch.manual_seed(cfg.seed * 100003 + epoch * 101 + env.rank)  # per epoch & rank: exact resume
        set_loader_epoch(loader, epoch)
        model.train()
        if cfg.stage == "t2":
            cvae.eval()
        sums: dict[str, float] = {}
        n_batches = 0
        for window, _ in loader:
            if window.shape[0] < 2:  # quirk 10: BatchNorm cannot take a batch of one
                continue
            window = window.to(device)
            if cfg.stage == "t1":
                pred, mean, logvar = net(window)
                loss, terms = t1_loss(pred, window, mean, logvar, cfg, parents, bounds)
            else:
                pred, mean, logvar = t2_predict(cvae, net, window[:, : cfg.t_his], cfg.nk, cfg.share_eps_train)
                loss, terms = t2_loss(pred[:, :, cfg.t_his :], window[:, cfg.t_his :], mean, logvar, cfg)
            check_finite(terms, epoch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v
            n_batches += 1
        sched.step()
        means = {f"loss/{k}": v / max(n_batches, 1) for k, v in sums.items()}
        log.log(epoch + 1, lr=opt.param_groups[0]["lr"], **means)
        bar.update(1)
        bar.set_postfix(loss=f"{means.get('loss/total', float('nan')):.4g}")
        last = epoch + 1 == cfg.epochs
        if env.is_main and cfg.eval_every > 0 and ((epoch + 1) % cfg.eval_every == 0 or last):
            metrics = evaluate_model(cfg, cvae, model if cfg.stage == "t2" else None, test, device)
            log.log(epoch + 1, **{f"eval/{k}": v for k, v in metrics.items()})
            log.info(f"epoch {epoch + 1}: " + "  ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        if (cfg.save_every > 0 and (epoch + 1) % cfg.save_every == 0) or last:
            ckpt.save(epoch + 1, {key: model, "optimizer": opt, "scheduler": sched},
                      extra={"metrics": metrics, "config": config_to_dict(cfg)})
        barrier(env)
    bar.close()
    if env.is_main:
        (run_dir / "final_metrics.json").write_text(json.dumps(metrics, indent=1))
        try:
            from motionkit.viz import plot_curves

            hist = log.history() if hasattr(log, "history") else {}
            if hist:
                plot_curves(run_dir / "loss_curves.png", {k: v for k, v in hist.items() if k.startswith("loss/")},
                            title=cfg.exp_name)
        except ImportError:
            pass
    log.close()
    return metrics
