"""Training loops: t1 (Mix-StAGE GAN on the source speaker) and t>=2 (the DiffGAN-aligned few-shot step).

Both loops: each iteration is a D step with probability r/(r+1) (coin flip, r = dg_iter_ratio) else a G step;
Adam(lr) for G and D, grad-norm clip on the stepped network, ExponentialLR(gamma) per epoch, lambda schedule.
Checkpoints at each epoch end through ``motionkit.training.Checkpointer`` (RNG included), so a killed step resumes
and ends where an uninterrupted one would.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import dataclass

import torch

from motionkit.training import Checkpointer, RunLogger, check_finite
from motionkit.training.ddp import average_gradients
from motionkit.training.divergence import diverged_tensor

from .data.clusters import Preprocessor
from .data.fewshot import fewshot_indices
from .data.pats import PatsData
from .losses import LambdaScheduler, check_terms, discriminator_losses, generator_losses
from .metrics import evaluate_model
from .models import build_discriminator
from .models.diffgan import StyleDiffGAN
from .models.discriminator import VelocityPatchD
from .models.mixstage import MixStAGE
from .replay import FewshotBuffer, autocast, build_replay_batch


@dataclass
class StepResult:
    G: MixStAGE
    D: VelocityPatchD
    history: dict


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
        self.lam = LambdaScheduler(cfg.lambda_step, cfg.lambda_every, cfg.lambda_max)
        self.cfg = cfg
        self.ck: Checkpointer | None = None   # the step's checkpointer (named in divergence messages)

    @property
    def lambda_gan(self) -> float:
        return self.lam.value(self.cfg.lambda_gan)

    @property
    def lambda_D(self) -> float:
        return self.lam.value(self.cfg.lambda_D)

    def modules(self) -> dict:
        return {"G": self.G, "D": self.D, "optG": self.optG, "optD": self.optD, "schG": self.schG,
                "schD": self.schD, "lam": self.lam}

    def step_G(self, loss, env=None):
        self.optG.zero_grad(set_to_none=True)
        loss.backward()
        if env is not None:
            average_gradients(self.G, env)  # the steps call sub-modules outside forward: no DDP wrapper
        torch.nn.utils.clip_grad_norm_(self.g_params, self.cfg.grad_clip)
        self.optG.step()

    def step_D(self, loss, env=None):
        self.optD.zero_grad(set_to_none=True)
        loss.backward()
        if env is not None:
            average_gradients(self.D, env)
        torch.nn.utils.clip_grad_norm_(self.D.parameters(), self.cfg.grad_clip)
        self.optD.step()

    def apply_lr(self, lr: float, logger, what: str) -> None:
        """After a resume: make ``lr`` the schedule's base learning rate (the checkpoint restored the one it was
        saved with), keeping the schedule's position (lr * gamma^epochs done); logged when it changes."""
        for opt, sch in ((self.optG, self.schG), (self.optD, self.schD)):
            old = sch.base_lrs[0]
            if old == lr:
                continue
            sch.base_lrs = [lr] * len(opt.param_groups)
            for group in opt.param_groups:
                group["initial_lr"] = lr
                group["lr"] = lr * self.cfg.gamma ** sch.last_epoch
            if opt is self.optG:
                logger.info(f"{what}: learning rate {old:g} -> {lr:g} (changed on --resume; now "
                            f"{group['lr']:g} after {sch.last_epoch} epoch(s) of gamma {self.cfg.gamma:g})")

    def epoch_end(self):
        with warnings.catch_warnings():   # an epoch of only G (or only D) steps: the schedule still advances
            warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step")
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


class Means:
    """Running means of every logged value of an epoch, whatever names the loss dicts hold."""

    def __init__(self):
        self.sums, self.counts = defaultdict(float), defaultdict(int)

    def add(self, values: dict) -> None:
        for k, v in values.items():
            self.sums[k] += v
            self.counts[k] += 1

    def log(self, logger, step, **extra) -> dict:
        vals = {k: self.sums[k] / self.counts[k] for k in self.sums}
        logger.log(step, **vals, **extra)
        return vals


WEIGHT_LIMIT = 1e12


def _kept(ck: Checkpointer | None) -> str:
    """What a diverged step leaves: its last good checkpoint, or none."""
    last = ck.latest_path() if ck is not None else None
    if last is not None:
        return f"{last} is the last good checkpoint"
    return "no checkpoint of this step was written yet" + (f" in {ck.run_dir}" if ck is not None else "")


def check_weights(parts: GanParts, epoch: int, ck: Checkpointer) -> None:
    """Before a checkpoint write: every parameter of G and D finite and below WEIGHT_LIMIT in magnitude, else a
    one-line error and nothing is written (the previous epoch's checkpoint stays the last one)."""
    from motionkit.errors import NonFiniteLossError
    bad = diverged_tensor({"G": parts.G, "D": parts.D}, limit=WEIGHT_LIMIT)
    if bad is not None:
        raise NonFiniteLossError(f"{bad[0]} reached {bad[1]:.3g} (non-finite or exploded) after epoch {epoch + 1}: "
                                 f"not saved; {_kept(ck)} (the run diverged: --resume with a lower -lr)")


def check_loss(terms: dict, gstep: int, ck: Checkpointer) -> None:
    """The loss ``terms`` (one named scalar) finite at ``gstep``, else one line naming the checkpoint kept."""
    from motionkit.errors import NonFiniteLossError
    try:
        check_finite(terms, gstep)
    except NonFiniteLossError:
        (name, value), = _floats(terms).items()
        raise NonFiniteLossError(f"loss {name!r} is {value} at step {gstep}; {_kept(ck)} (the run diverged: "
                                 "--resume with a lower -lr, or check the data)") from None


def _floats(terms: dict) -> dict:
    return {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in terms.items()}


def t1_d_step(cfg, parts: GanParts, batch, device, gstep=0, env=None) -> dict:
    """D step: fake = G(x) under no_grad with G in eval mode; L_D on the velocity PatchGAN."""
    G, D = parts.G, parts.D
    G.eval()
    with torch.no_grad(), autocast(cfg, device):
        fake = G(batch)["pose"]
    G.train()
    with autocast(cfg, device):
        terms = discriminator_losses(D(batch["pose"]), D(fake.float()), parts.lambda_D)
    check_loss({"D": terms["D"]}, gstep, parts.ck)
    parts.step_D(terms["D"], env)
    return _floats(terms)


def t1_g_step(cfg, parts: GanParts, batch, device, gstep=0, env=None) -> dict:
    """G step: the generator terms of cdiffgan.losses (L_rec + L_adv + L_cluster + 0.1 id_in + 0.1 id_out);
    only G is stepped."""
    with autocast(cfg, device):
        out = parts.G(batch)
        out["pose"] = out["pose"].float()
        out["d_fake"] = parts.D(out["pose"])
        terms = generator_losses(cfg, out, batch, parts.lambda_gan)
    check_loss({"G": terms["G"]}, gstep, parts.ck)
    parts.step_G(terms["G"], env)
    return _floats(terms)


def train_t1(cfg, pre: Preprocessor, G, D, run_dir, device, env=None, logger=None, stop_after=None) -> StepResult:
    """Mix-StAGE on the source speaker's full train split (t1). Best epoch by lowest dev spatialNorm."""
    check_terms(cfg)
    src = cfg.speaker[:1]
    train = PatsData(cfg.data_dir, src, "train", cfg.window_hop, cfg.time, cfg.fps, cfg.vocab_size)
    pool = list(range(len(train)))             # windows the batches are drawn from (with replacement)
    if cfg.t1_k_shot:                          # the original's mixstage_fs: t1 on k few-shot windows
        pool = fewshot_indices(train.ranges, src, cfg.t1_k_shot, cfg.fewshot_seed, cfg.fewshot_sampler)
    parts = GanParts(cfg, G, D, G.parameters())
    is_main = env is None or env.is_main
    ck = parts.ck = Checkpointer(run_dir, keep_last=2, enabled=is_main)
    start, extra = ck.resume(parts.modules(), map_location=device)
    logger = logger or RunLogger(run_dir, use_tensorboard=False, enabled=is_main)
    logger.truncate_after(start * cfg.style_iters)
    if start:
        logger.info(f"resumed t1 from {ck.latest_path()} after epoch {start}")
        parts.apply_lr(cfg.lr, logger, "t1")
    best = extra.get("best", float("inf"))
    p_d = cfg.dg_iter_ratio / (cfg.dg_iter_ratio + 1)
    for epoch in range(start, cfg.num_epochs):
        G.train()
        D.train()
        coin = _coin(cfg, 1, epoch)
        means = Means()
        bar = _bar(cfg, logger, cfg.style_iters, f"t1 {src[0]} epoch {epoch + 1}/{cfg.num_epochs}")
        for it in range(cfg.style_iters):
            idx = torch.randint(len(pool), (cfg.batch_size,)).tolist()
            batch = pre.make_batch([train.item(pool[i]) for i in idx], [0] * len(idx), device)
            parts.lam.step()
            gstep = (epoch * cfg.style_iters + it)
            step_fn = t1_d_step if torch.rand((), generator=coin).item() < p_d else t1_g_step
            means.add(step_fn(cfg, parts, batch, device, gstep, env))
            bar.update(1)
        bar.close()
        parts.epoch_end()
        dev = evaluate_model(G, pre, cfg, src, "dev", device, style_ids=[0])
        score = dev["_overall"]["spatialNorm"]
        is_best = score < best
        best = min(best, score)
        means.log(logger, (epoch + 1) * cfg.style_iters, dev_spatialNorm=score, dev_FID=dev["_overall"]["FID"],
                  dev_pck=dev["_overall"]["pck"], dev_L1=dev["_overall"]["L1"])
        check_weights(parts, epoch, ck)
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
def _trunk(G, batch, rows, cache, cfg, device):
    """Trunk features: from the cache, or recomputed (no grad while the trunk is frozen, i.e. gan: diffgan)."""
    if cache is not None:
        return cache["h"][rows.to(device)]
    grad = torch.enable_grad() if cfg.finetune_all else torch.no_grad()
    with grad, autocast(cfg, device):
        return G.trunk(batch)


def diffgan_d_step(cfg, model, parts, batch, pivot, rows, cache, device, gstep=0, env=None) -> dict:
    """D step: real and fake restricted to rows pivot: (the new speaker in the align modes)."""
    G, D = parts.G, parts.D
    G.eval()
    with torch.no_grad(), autocast(cfg, device):
        h = _trunk(G, batch, rows, cache, cfg, device)
        fake = G.head(h, batch["style"], y=batch["target"], with_id_out=False)["pose"].float()
    model.train()
    if cache is not None:
        trunk_eval(G)
    with autocast(cfg, device):
        terms = discriminator_losses(D(batch["target"][pivot:]), D(fake[pivot:]), parts.lambda_D)
    check_loss({"D": terms["D"]}, gstep, parts.ck)
    parts.step_D(terms["D"], env)
    return _floats(terms)


def diffgan_g_step(cfg, model, parts, batch, pivot, rows, cache, device, gstep=0, env=None) -> dict:
    """G step: cross-modal grounding shift (L_diff; DiffGAN only) + output-domain shift (L_rec over all rows,
    L_adv on rows pivot:) + L_cluster + id terms, all from cdiffgan.losses."""
    G, D = parts.G, parts.D
    grounding = None
    if not cfg.finetune_all:
        h = _trunk(G, batch, rows, cache, cfg, device)
        with autocast(cfg, device):
            grounding = model.grounding_shift(h, batch["style"], batch["target"], cfg.inner_steps, cfg.inner_lr,
                                              cfg.topk, cfg.inner_loop)
    h2 = _trunk(G, batch, rows, cache, cfg, device)        # the original ran the trunk again for the full forward
    with autocast(cfg, device):
        out = G.head(h2, batch["style"], y=batch["target"])
        out["pose"] = out["pose"].float()
        out["d_fake"] = D(out["pose"][pivot:])
        if grounding is not None:
            out["grounding"] = grounding
        terms = generator_losses(cfg, out, batch, parts.lambda_gan)
    check_loss({"G": terms["G"]}, gstep, parts.ck)
    parts.step_G(terms["G"], env)
    logged = _floats(terms)
    if grounding is not None:
        logged["inner"] = float(grounding["inner"])
    return logged


def trunk_eval(G):
    for m in (G.text_encoder, G.audio_encoder, G.fusion, G.unet):
        m.eval()


def train_tn(cfg, pre, G_prev, D_prev, speakers, run_dir, device, env=None, logger=None, stop_after=None):
    """One few-shot step on `speakers` (all so far; the newest last). Final = last epoch (-overfit 1).
    gan: diffgan trains the big modules of StyleDiffGAN; gan / align_gan fine-tune all of Mix-StAGE
    (StyleAdaptiveGAN baselines)."""
    check_terms(cfg)
    n_spk = len(speakers)
    model = StyleDiffGAN(G_prev, src_eval=cfg.source_copy == "eval").to(device)
    G = model.G
    if cfg.finetune_all:
        for p in G.parameters():
            p.requires_grad_(True)
    D = D_prev if (cfg.get_pretrained_D and D_prev is not None) else build_discriminator(cfg).to(device)
    big = [p for p in G.parameters() if p.requires_grad]
    parts = GanParts(cfg, G, D, big, lr=cfg.lr_tn or cfg.lr)
    is_main = env is None or env.is_main
    ck = parts.ck = Checkpointer(run_dir, keep_last=2, enabled=is_main)
    start, _ = ck.resume(parts.modules(), map_location=device)
    logger = logger or RunLogger(run_dir, use_tensorboard=False, enabled=is_main)
    logger.truncate_after(start * cfg.num_training_iters)
    if start:
        logger.info(f"resumed t{n_spk} from {ck.latest_path()} after epoch {start}")
        parts.apply_lr(cfg.lr_tn or cfg.lr, logger, f"t{n_spk}")
    buf = FewshotBuffer(cfg, pre, speakers, device)
    cache = None
    if cfg.cache_frozen and not cfg.finetune_all and not buf.full:
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
        if cache is not None:
            trunk_eval(G)
        coin = _coin(cfg, n_spk, epoch)
        means = Means()
        bar = _bar(cfg, logger, cfg.num_training_iters,
                   f"t{n_spk} {speakers[-1]} epoch {epoch + 1}/{cfg.num_epochs_tn}")
        for it in range(cfg.num_training_iters):
            gstep = epoch * cfg.num_training_iters + it
            batch, pivot, rows = build_replay_batch(cfg, model, buf, pre, n_spk, device, cache)
            parts.lam.step()
            step_fn = diffgan_d_step if torch.rand((), generator=coin).item() < p_d else diffgan_g_step
            means.add(step_fn(cfg, model, parts, batch, pivot, rows, cache, device, gstep, env))
            bar.update(1)
        bar.close()
        parts.epoch_end()
        dev = evaluate_model(G, pre, cfg, speakers, "dev", device)
        means.log(logger, (epoch + 1) * cfg.num_training_iters, dev_FID=dev["_overall"]["FID"],
                  dev_pck=dev["_overall"]["pck"], dev_L1=dev["_overall"]["L1"])
        check_weights(parts, epoch, ck)
        ck.save(epoch + 1, parts.modules())
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    return StepResult(G, D, logger.history())
