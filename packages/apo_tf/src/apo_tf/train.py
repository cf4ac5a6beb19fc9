"""Training of the pose-prior WGAN (apo_tf.md §1.2, §1.4).

One GAN *iteration* is ``n_critic`` critic updates then one generator update; every update increments the
global step, as both TF1 ``minimize`` calls did, so ``max_steps`` counts optimiser updates. A compiled call
(``tf.function`` over a ``tf.range`` loop) runs ``iters_per_call`` iterations and draws its latent codes and real
batches in-graph from a checkpointed ``tf.random.Generator``; since the generator is frozen during the critic
updates, the fake batches of one iteration's ``n_critic`` critic updates come from one batched generator pass.
Weights are clipped after each critic update (the master branch's fix of the TF1 race, apo_tf.md §1.2).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from apo_tf import losses
from apo_tf.checkpoint import clean_leftovers, latest_checkpoint, restore
from apo_tf.config import GanConfig
from apo_tf.data import normalize, registry
from apo_tf.models import build_critic, build_generator
from apo_tf.optim import Adam, RMSProp
from apo_tf.runs import data_root, start_run
from motionkit.errors import CheckpointError, ConfigError, NonFiniteLossError
from motionkit.runfolder import check_not_finished

EXPLODED = 1e12  # a weight or optimiser slot this large means the run diverged (clipped critic weights are 0.01)


def make_strategy(name: str) -> tf.distribute.Strategy:
    """``default`` (no distribution) or ``mirrored`` (synchronous data parallel over the visible devices)."""
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
        gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
        return tf.distribute.MirroredStrategy(gpus or cpus)
    raise ConfigError(f"unknown strategy {name!r} (default | mirrored)")


def check_replicas(cfg: GanConfig, strategy: tf.distribute.Strategy) -> None:
    """Each replica takes an equal slice of the batch: one line when ``batch_size`` does not divide."""
    n = strategy.num_replicas_in_sync
    if cfg.batch_size % n:
        raise ConfigError(f"batch_size {cfg.batch_size}: not divisible by the {n} replicas of --strategy "
                          f"{cfg.strategy}")


class WGAN(tf.Module):
    """Generator, critic, their optimisers, the global step and the sampling RNG; everything a checkpoint holds.

    ``real``: (N, J, 3) normalised training poses, kept as one in-graph constant.
    """

    def __init__(self, cfg: GanConfig, real: np.ndarray, strategy: tf.distribute.Strategy | None = None):
        super().__init__(name="wgan")
        self.cfg = cfg
        self.strategy = strategy or tf.distribute.get_strategy()
        n_joints = real.shape[1]
        check_replicas(cfg, self.strategy)
        with self.strategy.scope():
            self.generator = build_generator(cfg, n_joints)
            self.critic = build_critic(cfg, n_joints)
            gv, cv = self.generator.weights, self.critic.weights
            if cfg.wgan_type == "weight_clipped":
                self.g_opt = RMSProp(gv, cfg.lr, cfg.rms_decay, cfg.rms_eps, cfg.rmsprop, name="g_rmsprop")
                self.c_opt = RMSProp(cv, cfg.lr, cfg.rms_decay, cfg.rms_eps, cfg.rmsprop, name="c_rmsprop")
            elif cfg.wgan_type == "gradient_penalized":
                self.g_opt = Adam(gv, cfg.lr, cfg.adam_beta1, cfg.adam_beta2, name="g_adam")
                self.c_opt = Adam(cv, cfg.lr, cfg.adam_beta1, cfg.adam_beta2, name="c_adam")
            else:
                raise ConfigError(f"unknown wgan_type {cfg.wgan_type!r} (weight_clipped | gradient_penalized)")
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self.rng = tf.random.Generator.from_seed(cfg.seed)
        self.real = tf.constant(real, dtype=tf.float32)
        self.n_real = int(real.shape[0])
        self.batches = None
        if cfg.sampling == "shuffle":  # the original's input pipeline (gan.py get_real_sample); checkpointed
            ds = tf.data.Dataset.from_tensor_slices(self.real).shuffle(cfg.shuffle_buffer, seed=cfg.seed)
            self.batches = iter(ds.repeat().batch(cfg.batch_size))
        self.run_iterations = tf.function(self._run_iterations, jit_compile=cfg.jit_compile or None)
        self.run_critic_updates = tf.function(self._run_critic_updates)
        self.state_ok = tf.function(self._state_ok)

    def state(self) -> list[tf.Variable]:
        """Every float variable a checkpoint holds: both networks' weights and both optimisers' slots."""
        return [v for v in [*self.generator.weights, *self.critic.weights, *self.g_opt.variables,
                            *self.c_opt.variables] if v.dtype.is_floating]

    def _state_ok(self) -> tf.Tensor:
        """True when every weight and optimiser slot is finite and below :data:`EXPLODED` (one compiled pass:
        a ReLU network can keep its losses finite, even 0, while its weights are NaN)."""
        return tf.reduce_all([tf.reduce_all(tf.abs(v) < EXPLODED) for v in self.state()])

    # --- one update of each network -------------------------------------------------------------------
    def _replica_grads(self, loss_fn, variables, *batches):
        """Mean loss and its gradients over the global batch, split across replicas and summed back."""
        n = self.strategy.num_replicas_in_sync

        def replica_fn(*bs):
            if n > 1:
                i = tf.distribute.get_replica_context().replica_id_in_sync_group
                per = self.cfg.batch_size // n
                bs = [b[i * per:(i + 1) * per] for b in bs]
            with tf.GradientTape() as tape:
                loss = loss_fn(*bs) / n
            return [loss] + tape.gradient(loss, variables)

        out = self.strategy.run(replica_fn, args=batches)
        if n > 1:
            out = [self.strategy.reduce(tf.distribute.ReduceOp.SUM, o, axis=None) for o in out]
        return out[0], out[1:]

    def critic_update(self, real: tf.Tensor, fake: tf.Tensor) -> tf.Tensor:
        """One critic update on (B, J, 3) real and fake batches; clips the critic weights afterwards."""
        cfg, cv = self.cfg, self.critic.weights
        if cfg.wgan_type == "gradient_penalized":
            eps = self.rng.uniform([cfg.batch_size, 1, 1])

            def loss_fn(r, f, e):
                return (losses.critic_loss(self.critic(r), self.critic(f))
                        + losses.gradient_penalty(self.critic, r, f, e, cfg.gp_lambda, cfg.gp_reduce))

            loss, grads = self._replica_grads(loss_fn, cv, real, fake, eps)
        else:
            def loss_fn(r, f):  # one critic pass over [real; fake] (fewer, larger matmuls)
                c = self.critic(tf.concat([r, f], 0))
                return losses.critic_loss(c[:tf.shape(r)[0]], c[tf.shape(r)[0]:])

            loss, grads = self._replica_grads(loss_fn, cv, real, fake)
        self.c_opt.apply(grads, cv)
        if cfg.wgan_type == "weight_clipped":
            for v in cv:
                v.assign(tf.clip_by_value(v, -cfg.clip, cfg.clip))
        self.step.assign_add(1)
        return loss

    def generator_update(self, z: tf.Tensor) -> tf.Tensor:
        """One generator update on a (B, n_z) latent batch."""
        gv = self.generator.weights
        loss, grads = self._replica_grads(
            lambda zz: losses.generator_loss(self.critic(self.generator(zz))), gv, z)
        self.g_opt.apply(grads, gv)
        self.step.assign_add(1)
        return loss

    def _real_batches(self, k: int) -> tf.Tensor:
        """(k * B, J, 3) real poses: k batches of the shuffle pipeline, or k * B uniform draws with replacement."""
        if self.batches is not None:
            return tf.concat([next(self.batches) for _ in range(k)], 0)
        idx = self.rng.uniform([k * self.cfg.batch_size], 0, self.n_real, dtype=tf.int64)
        return tf.gather(self.real, idx)

    # --- compiled loops ---------------------------------------------------------------------------------
    def _run_iterations(self, n_iter: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """``n_iter`` GAN iterations; returns (last critic loss, last generator loss, mean critic, mean gen)."""
        cfg = self.cfg
        B, K = cfg.batch_size, cfg.n_critic
        c_loss, g_loss = tf.constant(0.0), tf.constant(0.0)
        c_sum, g_sum = tf.constant(0.0), tf.constant(0.0)
        for _ in tf.range(n_iter):
            fakes = self.generator(self.rng.normal([K * B, cfg.n_z]))  # G frozen during the critic updates
            reals = self._real_batches(K)
            for k in range(K):
                c_loss = self.critic_update(reals[k * B:(k + 1) * B], fakes[k * B:(k + 1) * B])
                c_sum += c_loss
            g_loss = self.generator_update(self.rng.normal([B, cfg.n_z]))
            g_sum += g_loss
        n = tf.cast(tf.maximum(n_iter, 1), tf.float32)
        return c_loss, g_loss, c_sum / (n * K), g_sum / n

    def _run_critic_updates(self, n: tf.Tensor) -> tf.Tensor:
        """``n`` lone critic updates: the tail of a run whose ``max_steps`` is not a whole number of iterations."""
        B = self.cfg.batch_size
        loss = tf.constant(0.0)
        for _ in tf.range(n):
            fake = self.generator(self.rng.normal([B, self.cfg.n_z]))
            loss = self.critic_update(self._real_batches(1), fake)
        return loss

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """(n, J, 3) generator samples for z ~ N(0, I) (a fixed stateless seed)."""
        z = tf.random.stateless_normal([n, self.cfg.n_z], seed=(seed, 7))
        return self.generator(z).numpy()


def checkpoint_for(gan: WGAN) -> tf.train.Checkpoint:
    """Everything a bit-identical resume needs: weights, optimiser slots, step, RNG and the input pipeline."""
    extra = {"batches": gan.batches} if gan.batches is not None else {}
    return tf.train.Checkpoint(generator=gan.generator, critic=gan.critic, g_opt=gan.g_opt, c_opt=gan.c_opt,
                               step=gan.step, rng=gan.rng, **extra)


# what a resume may change: the run's length, its bookkeeping, and the learning rate (read when the optimisers
# are built, so a diverged run continues from its last good checkpoint with a lower --lr)
MUTABLE_ON_RESUME = frozenset({"max_steps", "lr", "log_every", "ckpt_every", "keep_last", "iters_per_call",
                               "jit_compile", "strategy", "data_root"})


def gan_run_name(gan_id: str) -> str:
    """Default run-folder name of a GAN: ``gan-<gan_id>`` (inference runs are ``infer-<inference_id>``)."""
    return f"gan-{gan_id}"


def train(cfg: GanConfig, root: Path, run_name: str | None = None, resume: str | None = None,
          verbose: bool = True) -> dict:
    """Train ``cfg.gan_id`` until ``cfg.max_steps`` global steps in a new run folder under ``root`` (or continue
    the run ``resume`` names, see :mod:`apo_tf.runs`); returns a summary dict (with ``run_dir``)."""
    strategy = make_strategy(cfg.strategy)
    check_replicas(cfg, strategy)  # before anything is written
    with start_run(cfg, Path(root), run_name or gan_run_name(cfg.gan_id), resume, verbose,
                   mutable=MUTABLE_ON_RESUME) as run:
        summary = _train_in(cfg, run.path, data_root(cfg, root), run.resuming, verbose, strategy)
    return summary


def _train_in(cfg: GanConfig, out: Path, data_dir: str, resuming: bool, verbose: bool,
              strategy: tf.distribute.Strategy) -> dict:
    """The loop, in the locked run folder ``out``: restore (when resuming), train, log, checkpoint."""
    if resuming:  # a finished run is refused before the data are read
        check_not_finished(out, _saved_step(out), cfg.max_steps, unit="global step", flag="--max_steps")
    real = normalize.training_poses(registry.load(cfg.dataset, "train", data_dir, cfg.eva_split))
    gan = WGAN(cfg, real, strategy)
    ckpt = checkpoint_for(gan)
    clean_leftovers(out)  # of a checkpoint write killed half-way (we hold the folder's lock)
    latest = latest_checkpoint(out) if resuming else None  # a damaged state file: one line, never step 0
    manager = tf.train.CheckpointManager(ckpt, str(out), max_to_keep=cfg.keep_last, step_counter=gan.step)
    if latest:
        restore(ckpt, latest, "resume")
        check_not_finished(out, int(gan.step.numpy()), cfg.max_steps, unit="global step", flag="--max_steps")
    log_path = out / "metrics.jsonl"
    _drop_log_lines_after(log_path, int(gan.step.numpy()))
    start = int(gan.step.numpy())
    per_iter = cfg.n_critic + 1
    if (out / "tb").exists() and not (out / "tb").is_dir():
        raise CheckpointError(f"{out / 'tb'}: a file where the TensorBoard folder belongs; move it away and resume")
    writer = tf.summary.create_file_writer(str(out / "tb"))
    t0, step = time.perf_counter(), start
    bar = tqdm(total=cfg.max_steps, initial=start, desc=f"train {cfg.gan_id}", disable=not verbose,
               unit="step", mininterval=2.0)
    losses_now = {}
    try:  # the bar ends its line before any error line
        while step < cfg.max_steps:
            n_iter = min(cfg.iters_per_call, (cfg.max_steps - step) // per_iter)
            if n_iter > 0:
                c_last, g_last, c_mean, g_mean = gan.run_iterations(tf.constant(n_iter, tf.int32))
                losses_now = {"critic_loss": float(c_mean), "generator_loss": float(g_mean)}
            else:  # fewer than n_critic + 1 steps left: lone critic updates, as TF1's StopAtStepHook would stop
                c_last = gan.run_critic_updates(tf.constant(cfg.max_steps - step, tf.int32))
                losses_now = {"critic_loss": float(c_last)}
            new_step = int(gan.step.numpy())
            _check_finite(gan, cfg, new_step, losses_now, out, manager)  # before anything is logged or saved
            if new_step // cfg.log_every > step // cfg.log_every or new_step >= cfg.max_steps:
                with writer.as_default(step=new_step):
                    for k, v in losses_now.items():
                        _scalar_summary(k, v)
                with open(log_path, "a") as f:
                    f.write(json.dumps({"step": new_step, **losses_now}) + "\n")
            if new_step // cfg.ckpt_every > step // cfg.ckpt_every or new_step >= cfg.max_steps:
                _save(manager, new_step, out)
            bar.update(new_step - step)
            bar.set_postfix({k[:1]: f"{v:.4f}" for k, v in losses_now.items()})
            step = new_step
    finally:
        bar.close()
    writer.flush()
    elapsed = time.perf_counter() - t0
    if manager.latest_checkpoint is None or int(manager.latest_checkpoint.rsplit("-", 1)[-1]) != step:
        _check_finite(gan, cfg, step, losses_now, out, manager)
        _save(manager, step, out)
    summary = {"gan_id": cfg.gan_id, "run_dir": str(out), "start_step": start, "step": step, "seconds": elapsed,
               "steps_per_s": (step - start) / elapsed if elapsed > 0 and step > start else 0.0,
               "n_train_poses": int(real.shape[0]), **losses_now}
    if verbose:
        print(json.dumps(summary), flush=True)
        _save_samples(gan, out / "samples.png", real.shape[1])
    return summary


def _check_finite(gan: WGAN, cfg: GanConfig, step: int, losses_now: dict, out: Path,
                  manager: tf.train.CheckpointManager) -> None:
    """Stop a diverged run before it logs or saves anything: the losses and every weight and optimiser slot
    finite and below EXPLODED, else one line naming the step, the losses and the last good checkpoint."""
    bad_losses = [k for k, x in losses_now.items() if not math.isfinite(x)]
    if not bad_losses and bool(gan.state_ok()):
        return
    bad = next((v.name for v in gan.state() if not (np.abs(v.numpy()) < EXPLODED).all()), None)
    losses = ", ".join(f"{k} {x:.4g}" for k, x in losses_now.items())
    what = f"non-finite {', '.join(bad_losses)}" if bad_losses else f"{bad} non-finite or > {EXPLODED:g}; {losses}"
    latest = manager.latest_checkpoint
    if latest:
        then = (f"the last checkpoint, {Path(latest).name}, is the last good state: continue it with a lower "
                f"learning rate, e.g. --resume --lr {cfg.lr / 10:g}")
    else:
        then = f"no checkpoint was written yet: start again with a lower learning rate, e.g. --lr {cfg.lr / 10:g}"
    raise NonFiniteLossError(f"{out}: training diverged by global step {step} ({what}); not saved; {then}")


def _save(manager: tf.train.CheckpointManager, step: int, out: Path) -> None:
    """Write checkpoint ``step``; a failed write (disk full, I/O error) is one line, the earlier ones intact."""
    try:
        manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as e:
        clean_leftovers(out)
        reason = str(e).splitlines()[0].rsplit(";", 1)[-1].replace("[Op:SaveV2]", "").strip()
        kept = manager.latest_checkpoint
        kept = f"the earlier checkpoint {Path(kept).name} is intact" if kept else "no earlier checkpoint to keep"
        raise CheckpointError(f"{out}: cannot write the checkpoint of global step {step} ({reason}); {kept}") from None


def _saved_step(out: Path) -> int:
    """The global step of the latest checkpoint in ``out`` (0 when none; a damaged one is one line)."""
    latest = latest_checkpoint(out)
    try:
        return int(tf.train.load_checkpoint(latest).get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) if latest else 0
    except Exception:  # noqa: BLE001 - a damaged checkpoint is reported by restore() with its own line
        return 0


def _drop_log_lines_after(path: Path, step: int) -> None:
    """A resumed run repeats the steps after its checkpoint: drop their old metrics.jsonl lines first, and a
    line torn by a kill mid-write (not JSON), so that every step appears once."""
    if not path.exists():
        return
    kept = []
    for ln in path.read_text(errors="replace").splitlines():
        try:
            if json.loads(ln)["step"] <= step:
                kept.append(ln)
        except (ValueError, KeyError, TypeError):
            continue
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(ln + "\n" for ln in kept))
    tmp.replace(path)


def _scalar_summary(tag: str, value: float) -> None:
    """A TensorBoard scalar without importing tensorboard (tensorflow-cpu does not depend on it)."""
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = "scalars"
    tf.summary.write(tag, tf.constant(value, tf.float32), metadata=meta)


def _save_samples(gan: WGAN, path: Path, n_joints: int) -> None:
    from motionkit.skeletons import get_skeleton
    from motionkit.viz import save_pose_grid

    skel = get_skeleton("apo_s24" if n_joints == 24 else "apo_s14")
    try:
        save_pose_grid(str(path), gan.sample(8), skeleton=skel, ncols=4, dims=3)
    except Exception as e:  # a plot must never fail a finished training run
        print(f"warning: could not save {path}: {e}")
