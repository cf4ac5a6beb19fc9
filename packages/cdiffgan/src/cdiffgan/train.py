"""Training loops: t1 (Mix-StAGE GAN on the source speaker) and t>=2 (the DiffGAN-aligned few-shot step).

Both loops: each iteration is a D step with probability r/(r+1) (coin flip, r = dg_iter_ratio) else a G step;
Adam(lr) for G and D, grad-norm clip on the stepped network, ExponentialLR(gamma) per epoch, lambda schedule.
Checkpoints at each epoch end through ``motionkit.training.Checkpointer`` (RNG included), so a killed step resumes
and ends where an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from motionkit.training import Checkpointer, RunLogger, check_finite

from .data.clusters import Preprocessor, select
from .data.fewshot import fewshot_indices
from .data.pats import PatsData
from .evaluate import evaluate_model
from .losses import (
    LambdaScheduler,
    discriminator_loss,
    generator_adversarial_loss,
    reconstruction_loss,
)
from .models.diffgan import StyleDiffGAN
from .models.discriminator import VelocityPatchD
from .models.mixstage import MixStAGE


@dataclass
class StepResult:
    G: MixStAGE
    D: VelocityPatchD
    history: dict


def autocast(cfg, device):
    if cfg.bf16:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def sync_grads(params, env) -> None:
    """All-reduce-mean the gradients across DDP ranks (the parameters are the same on every rank).

    Done by hand instead of wrapping in DistributedDataParallel because the DiffGAN step calls sub-modules
    (decoder layers, logits) outside ``forward`` and freezes/unfreezes parameters inside an iteration."""
    if env is None or not env.enabled:
        return
    import torch.distributed as dist
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= env.world_size


class GanParts:
    """G, D, their optimisers and schedulers and the lambda schedule; one checkpointable bundle."""

    def __init__(self, cfg, G, D, g_params, lr=None):
        self.G, self.D = G, D
        self.g_params = list(g_params)
        lr = lr or cfg.lr
        self.optG = torch.optim.Adam(self.g_params, lr=lr)
        self.optD = torch.optim.Adam(D.parameters(), lr=lr)
        self.schG = torch.optim.lr_scheduler.ExponentialLR(self.optG, cfg.gamma)
        self.schD = torch.optim.lr_scheduler.ExponentialLR(self.optD, cfg.gamma)
        self.lam = LambdaScheduler(1.0, cfg.lambda_step, cfg.lambda_every, cfg.lambda_max)
        self.cfg = cfg

    def modules(self) -> dict:
        return {"G": self.G, "D": self.D, "optG": self.optG, "optD": self.optD, "schG": self.schG,
                "schD": self.schD, "lam": self.lam}

    def step_G(self, loss, env=None):
        self.optG.zero_grad(set_to_none=True)
        loss.backward()
        sync_grads(self.g_params, env)
        torch.nn.utils.clip_grad_norm_(self.g_params, self.cfg.grad_clip)
        self.optG.step()

    def step_D(self, loss, env=None):
        self.optD.zero_grad(set_to_none=True)
        loss.backward()
        sync_grads(list(self.D.parameters()), env)
        torch.nn.utils.clip_grad_norm_(self.D.parameters(), self.cfg.grad_clip)
        self.optD.step()

    def epoch_end(self):
        self.schG.step()
        self.schD.step()


def _coin(cfg, step, epoch):
    """Per-(step, epoch) generator for the D/G coin flip; identical on every DDP rank."""
    return torch.Generator().manual_seed(cfg.seed * 100_000 + step * 1000 + epoch)


def _bar(cfg, logger, total, desc):
    """Progress bar of an epoch (``progress: false`` in the config turns it off)."""
    if cfg.progress:
        return logger.progress(total, desc)
    from tqdm import tqdm
    return tqdm(total=total, disable=True)


def _log_means(logger, step, sums, counts, **extra):
    vals = {k: sums[k] / counts[k] for k in sums if counts[k]}
    logger.log(step, **vals, **extra)
    return vals


def t1_d_step(cfg, parts: GanParts, batch, device, gstep=0, env=None) -> dict:
    """D step: fake = G(x) under no_grad with G in eval mode; L_D on the velocity PatchGAN."""
    G, D = parts.G, parts.D
    G.eval()
    with torch.no_grad(), autocast(cfg, device):
        fake = G(batch)[0]
    G.train()
    with autocast(cfg, device):
        lossD = discriminator_loss(D(batch["pose"]), D(fake.float()), parts.lam.value)
    check_finite({"D": lossD}, gstep)
    parts.step_D(lossD, env)
    return {"D": lossD.item()}


def t1_g_step(cfg, parts: GanParts, batch, device, gstep=0, env=None) -> dict:
    """G step: L_G = L_rec + L_adv + L_cluster + 0.1 id_in + 0.1 id_out (only G is stepped)."""
    with autocast(cfg, device):
        out, internal, _ = parts.G(batch)
        rec = reconstruction_loss(out.float(), batch["pose"])
        adv = generator_adversarial_loss(parts.D(out.float()), parts.lam.value)
    loss = rec + adv + sum(internal.values())
    check_finite({"G": loss}, gstep)
    parts.step_G(loss, env)
    return {k: float(v.detach()) for k, v in {"G": loss, "rec": rec, "adv": adv, **internal}.items()}


def train_t1(cfg, pre: Preprocessor, G, D, run_dir, device, env=None, logger=None, stop_after=None) -> StepResult:
    """Mix-StAGE on the source speaker's full train split (t1). Best epoch by lowest dev spatialNorm."""
    src = cfg.speaker[:1]
    train = PatsData(cfg.data_dir, src, "train", cfg.window_hop, cfg.time, cfg.fps)
    parts = GanParts(cfg, G, D, G.parameters())
    is_main = env is None or env.is_main
    ck = Checkpointer(run_dir, keep_last=2, enabled=is_main)
    start, extra = ck.resume(parts.modules(), map_location=device)
    logger = logger or RunLogger(run_dir, use_tensorboard=False, enabled=is_main)
    logger.truncate_after(start * cfg.style_iters)
    if start:
        logger.info(f"resumed t1 from {ck.latest_path()} after epoch {start}")
    best = extra.get("best", float("inf"))
    p_d = cfg.dg_iter_ratio / (cfg.dg_iter_ratio + 1)
    for epoch in range(start, cfg.num_epochs):
        G.train()
        D.train()
        coin = _coin(cfg, 1, epoch)
        sums, counts = dict.fromkeys(("G", "D", "rec", "adv", "cluster", "id_in", "id_out"), 0.0), {}
        counts = dict.fromkeys(sums, 0)
        bar = _bar(cfg, logger, cfg.style_iters, f"t1 {src[0]} epoch {epoch + 1}/{cfg.num_epochs}")
        for it in range(cfg.style_iters):
            idx = torch.randint(len(train), (cfg.batch_size,)).tolist()
            batch = pre.make_batch([train.item(i) for i in idx], [0] * len(idx), device)
            parts.lam.step()
            gstep = (epoch * cfg.style_iters + it)
            step_fn = t1_d_step if torch.rand((), generator=coin).item() < p_d else t1_g_step
            for k, v in step_fn(cfg, parts, batch, device, gstep, env).items():
                sums[k] += v
                counts[k] += 1
            bar.update(1)
        bar.close()
        parts.epoch_end()
        dev = evaluate_model(G, pre, cfg, src, "dev", device, style_ids=[0])
        score = dev["_overall"]["spatialNorm"]
        is_best = score < best
        best = min(best, score)
        _log_means(logger, (epoch + 1) * cfg.style_iters, sums, counts, dev_spatialNorm=score,
                   dev_FID=dev["_overall"]["FID"], dev_pck=dev["_overall"]["pck"])
        ck.save(epoch + 1, parts.modules(), extra={"best": best}, is_best=is_best)
        if stop_after is not None and epoch + 1 >= stop_after:
            return StepResult(G, D, logger.history())
    # final model = best dev spatialNorm epoch (original -dev_key dev_spatialNorm, -early_stopping 0)
    best_path = ck.run_dir / "best.pt"
    if best_path.exists():
        from motionkit.training import load_checkpoint
        G.load_state_dict(load_checkpoint(best_path, device)["modules"]["G"])
    return StepResult(G, D, logger.history())


# ---------------------------------------------------------------- t >= 2
def replay_rows(cfg, n_spk: int, k: int, bs: int, gen=None):
    """Row indices into the few-shot buffer (speaker-major, k rows per speaker; the newest speaker last) and the
    pivot (first row that D sees). Returns (old_rows, new_rows, pivot)."""
    new_lo = (n_spk - 1) * k
    if cfg.replay == "no-replay-fs" or n_spk == 1:
        return torch.empty(0, dtype=torch.long), new_lo + torch.randint(k, (bs,), generator=gen), 0
    bs_r = max(bs // n_spk, 1)
    bs_l = bs - bs_r
    new = new_lo + torch.randint(k, (bs_r,), generator=gen)
    if cfg.replay.endswith("-tgt"):
        old = new_lo + torch.randint(k, (bs_l,), generator=gen)      # new speaker's inputs, old styles
    else:
        old = torch.randint(new_lo, (bs_l,), generator=gen)          # old speakers' real k-shot windows
    pivot = bs_l if "align" in cfg.replay else 0
    return old, new, pivot


class FewshotBuffer:
    """The k-shot windows of every speaker so far, read once and kept as one batch (original fewshot_x/y)."""

    def __init__(self, cfg, pre: Preprocessor, speakers, device):
        data = PatsData(cfg.data_dir, speakers, "train", cfg.window_hop, cfg.time, cfg.fps)
        self.indices = fewshot_indices(data.ranges, speakers, cfg.k_shot, cfg.fewshot_seed)
        style = np.repeat(np.arange(len(speakers)), cfg.k_shot)
        self.batch = pre.make_batch([data.item(i) for i in self.indices], style, device)
        self.items = [(data.windows[i].speaker, data.windows[i].interval_id, data.windows[i].pose_start)
                      for i in self.indices]


def build_replay_batch(cfg, model: StyleDiffGAN, buf: FewshotBuffer, pre, n_spk, device, cache=None):
    """One training batch of the DiffGAN step. Old rows get G_src targets (pseudo labels; real poses in random-fs),
    new rows keep GT. Returns (batch with 'target', pivot, rows)."""
    old, new, pivot = replay_rows(cfg, n_spk, cfg.k_shot, cfg.batch_size_tn)
    rows = torch.cat([old, new])
    batch = select(buf.batch, rows.to(device))
    target = batch["pose"].clone()
    n_old = len(old)
    if n_old and cfg.replay != "random-fs":
        if cfg.replay.endswith("-tgt"):
            style = torch.randint(n_spk - 1, (n_old,)).to(device)
            batch["style"] = torch.cat([style, batch["style"][n_old:]])
            with autocast(cfg, device):
                if cache is not None:
                    pseudo = model.G_src.head(cache["h"][rows[:n_old].to(device)], style, with_id_out=False)[0]
                else:
                    pseudo = model.pseudo_labels(select(batch, slice(0, n_old)), style_from_pose=False)
            pseudo = pseudo.float()
            batch["labels"] = torch.cat([torch.as_tensor(pre.labels(pre.denorm_pose96(pseudo)), device=device),
                                         batch["labels"][n_old:]])
        elif cache is not None:
            pseudo = cache["pseudo"][rows[:n_old].to(device)]
        else:
            with autocast(cfg, device):
                pseudo = model.pseudo_labels(select(batch, slice(0, n_old))).float()
        target[:n_old] = pseudo
    batch["target"] = target
    return batch, pivot, rows


def _trunk(G, batch, rows, cache, cfg, device):
    """Frozen trunk features: from the cache, or recomputed (no grad: its parameters are frozen)."""
    if cache is not None:
        return cache["h"][rows.to(device)]
    with torch.no_grad(), autocast(cfg, device):
        return G.trunk(batch)


def diffgan_d_step(cfg, model, parts, batch, pivot, rows, cache, device, gstep=0, env=None) -> dict:
    """D step of the aligned DiffGAN: real and fake restricted to rows pivot: (the new speaker in align modes)."""
    G, D = parts.G, parts.D
    G.eval()
    with torch.no_grad(), autocast(cfg, device):
        h = _trunk(G, batch, rows, cache, cfg, device)
        fake = G.head(h, batch["style"], y=batch["target"], with_id_out=False)[0].float()
    model.train()
    if cache is not None:
        trunk_eval(G)
    with autocast(cfg, device):
        lossD = discriminator_loss(D(batch["target"][pivot:]), D(fake[pivot:]), parts.lam.value)
    check_finite({"D": lossD}, gstep)
    parts.step_D(lossD, env)
    return {"D": lossD.item()}


def diffgan_g_step(cfg, model, parts, batch, pivot, rows, cache, device, gstep=0, env=None) -> dict:
    """G step: cross-modal grounding shift (L_diff) + output-domain shift (L_rec over all rows, L_adv on rows
    pivot:) + L_cluster + id terms. Total = L_rec + L_adv + L_cluster + 0.1 id_in + 0.1 id_out + L_diff."""
    G, D = parts.G, parts.D
    h = _trunk(G, batch, rows, cache, cfg, device)
    with autocast(cfg, device):
        ldiff, inner, _ = model.grounding_shift(h, batch["style"], batch["target"], cfg.inner_steps, cfg.inner_lr,
                                                cfg.topk, cfg.inner_loop, cfg.lambda_diff)
    h2 = _trunk(G, batch, rows, cache, cfg, device)        # the original ran the trunk again for the full forward
    with autocast(cfg, device):
        out, internal, _ = G.head(h2, batch["style"], y=batch["target"], labels=batch["labels"])
        out = out.float()
        rec = reconstruction_loss(out, batch["target"])
        adv = generator_adversarial_loss(D(out[pivot:]), parts.lam.value)
    loss = rec + adv + sum(internal.values()) + ldiff
    check_finite({"G": loss}, gstep)
    parts.step_G(loss, env)
    return {k: float(v.detach()) for k, v in
            {"G": loss, "rec": rec, "adv": adv, "diff": ldiff, "inner": inner, **internal}.items()}


def trunk_eval(G):
    for m in (G.text_encoder, G.audio_encoder, G.fusion, G.unet):
        m.eval()


def train_tn(cfg, pre, G_prev, D_prev, speakers, run_dir, device, env=None, logger=None, stop_after=None):
    """One DiffGAN-aligned few-shot step on `speakers` (all so far; the newest last). Final = last epoch."""
    n_spk = len(speakers)
    model = StyleDiffGAN(G_prev).to(device)
    G = model.G
    D = D_prev if (cfg.get_pretrained_D and D_prev is not None) else VelocityPatchD(G.P).to(device)
    big = [p for p in G.parameters() if p.requires_grad]
    parts = GanParts(cfg, G, D, big, lr=cfg.lr_tn or cfg.lr)
    is_main = env is None or env.is_main
    ck = Checkpointer(run_dir, keep_last=2, enabled=is_main)
    start, _ = ck.resume(parts.modules(), map_location=device)
    logger = logger or RunLogger(run_dir, use_tensorboard=False, enabled=is_main)
    logger.truncate_after(start * cfg.num_training_iters)
    if start:
        logger.info(f"resumed t{n_spk} from {ck.latest_path()} after epoch {start}")
    buf = FewshotBuffer(cfg, pre, speakers, device)
    cache = None
    if cfg.cache_frozen:
        # frozen trunk in eval mode: its features of the fixed buffer and G_src's pseudo labels never change
        model.train()
        trunk_eval(G)
        with torch.no_grad(), autocast(cfg, device):
            h = G.trunk(buf.batch)
            cache = {"h": h, "pseudo": model.pseudo_labels(buf.batch).float()}
    p_d = cfg.dg_iter_ratio / (cfg.dg_iter_ratio + 1)
    for epoch in range(start, cfg.num_epochs_tn):
        model.train()
        D.train()
        if cfg.cache_frozen:
            trunk_eval(G)
        coin = _coin(cfg, n_spk, epoch)
        keys = ("G", "D", "rec", "adv", "diff", "inner", "cluster", "id_in", "id_out")
        sums, counts = dict.fromkeys(keys, 0.0), dict.fromkeys(keys, 0)
        bar = _bar(cfg, logger, cfg.num_training_iters,
                   f"t{n_spk} {speakers[-1]} epoch {epoch + 1}/{cfg.num_epochs_tn}")
        for it in range(cfg.num_training_iters):
            gstep = epoch * cfg.num_training_iters + it
            batch, pivot, rows = build_replay_batch(cfg, model, buf, pre, n_spk, device, cache)
            parts.lam.step()

            step_fn = diffgan_d_step if torch.rand((), generator=coin).item() < p_d else diffgan_g_step
            for k, v in step_fn(cfg, model, parts, batch, pivot, rows, cache, device, gstep, env).items():
                sums[k] += v
                counts[k] += 1
            bar.update(1)
        bar.close()
        parts.epoch_end()
        dev = evaluate_model(G, pre, cfg, speakers, "dev", device)
        _log_means(logger, (epoch + 1) * cfg.num_training_iters, sums, counts, dev_FID=dev["_overall"]["FID"],
                   dev_pck=dev["_overall"]["pck"])
        ck.save(epoch + 1, parts.modules())
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    return StepResult(G, D, logger.history())
