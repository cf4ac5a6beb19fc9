"""Training throughput: apo_tf's compiled multi-iteration loop vs a straightforward TF2 port, side by side.

The straightforward port is what a direct translation of the TF1 code looks like: Keras Sequential models, a
``tf.data`` pipeline (shuffle 100k -> repeat -> batch 128) feeding real batches, TF1-style RMSProp, and
one ``tf.function`` call per GAN iteration (5 critic + 1 generator updates) from a Python loop.

    python packages/apo_tf/bench/bench_train.py [--gan_id h3m_big] [--seconds 20]

Prints global steps/s for both, their ratio, the FLOPs per global step and the GFLOP/s achieved, next to this
machine's measured dense-matmul peak (the ceiling for any implementation of the same arithmetic).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from apo_tf.config import load_gan_config  # noqa: E402
from apo_tf.optim import RMSProp  # noqa: E402
from apo_tf.train import WGAN  # noqa: E402


class Straightforward:
    """A literal TF2 port: one compiled call per iteration, tf.data real batches, Keras layers."""

    def __init__(self, cfg, real: np.ndarray):
        import keras

        J = real.shape[1]
        init = keras.initializers.GlorotNormal
        self.cfg = cfg
        dense = lambda n, act=None: keras.layers.Dense(n, act, kernel_initializer=init())  # noqa: E731
        self.G = keras.Sequential([keras.Input((cfg.n_z,))] + [dense(n, "relu") for n in cfg.n_g]
                                  + [dense(3 * J), keras.layers.Reshape((J, 3))])
        self.C = keras.Sequential([keras.Input((J, 3)), keras.layers.Flatten()]
                                  + [keras.layers.Dense(n, "relu", kernel_initializer=init()) for n in cfg.n_c]
                                  + [keras.layers.Dense(1, kernel_initializer=init())])
        self.g_opt = RMSProp(self.G.trainable_variables, cfg.lr)  # tf.compat.v1's cannot take Keras 3 variables
        self.c_opt = RMSProp(self.C.trainable_variables, cfg.lr)
        ds = tf.data.Dataset.from_tensor_slices(real).shuffle(100_000, seed=0).repeat()
        self.it = iter(ds.batch(cfg.batch_size, drop_remainder=True).prefetch(8))

    @tf.function
    def iteration(self):
        cfg = self.cfg
        for _ in range(cfg.n_critic):
            real = next(self.it)
            z = tf.random.normal([cfg.batch_size, cfg.n_z])
            with tf.GradientTape() as tape:
                c_loss = tf.reduce_mean(self.C(self.G(z))) - tf.reduce_mean(self.C(real))
            cv = self.C.trainable_variables
            self.c_opt.apply(tape.gradient(c_loss, cv), cv)
            for v in cv:
                v.assign(tf.clip_by_value(v, -cfg.clip, cfg.clip))
        z = tf.random.normal([cfg.batch_size, cfg.n_z])
        with tf.GradientTape() as tape:
            g_loss = -tf.reduce_mean(self.C(self.G(z)))
        gv = self.G.trainable_variables
        self.g_opt.apply(tape.gradient(g_loss, gv), gv)
        return c_loss, g_loss


def flops_per_step(cfg, J: int) -> float:
    """Multiply-adds x 2 per global step, averaged over n_critic critic + 1 generator update."""
    g = [cfg.n_z, *cfg.n_g, 3 * J]
    c = [3 * J, *cfg.n_c, 1]
    mac = lambda s: sum(a * b for a, b in zip(s[:-1], s[1:]))  # noqa: E731
    mac_in = lambda s: sum(a * b for a, b in zip(s[1:-1], s[2:]))  # noqa: E731  input grads except layer 0
    B = cfg.batch_size
    critic = B * mac(g) + 2 * B * (2 * mac(c) + mac_in(c))  # G fwd; C fwd + dW + dX on real and fake
    gen = B * (mac(g) + mac(c) + mac(c) + 2 * mac(g) - g[0] * g[1])  # G fwd, C fwd, C dX, G dW + dX
    return 2.0 * (cfg.n_critic * critic + gen) / (cfg.n_critic + 1)


def matmul_peak() -> float:
    a = tf.random.normal([2048, 2048])
    f = tf.function(lambda x: tf.matmul(x, x))
    f(a).numpy()
    t = time.perf_counter()
    for _ in range(10):
        r = f(a)
    r.numpy()
    return 10 * 2 * 2048**3 / (time.perf_counter() - t) / 1e9


def timed(fn, steps_per_call: int, seconds: float) -> float:
    fn()  # trace
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        out = fn()
        n += steps_per_call
    np.asarray(out[0])
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gan_id", default="h3m_big")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--iters_per_call", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    cfg = load_gan_config(args.gan_id, {"iters_per_call": args.iters_per_call})
    J = 24 if "s14" not in cfg.dataset and not cfg.dataset.startswith("eva") else 14
    real = np.random.default_rng(0).normal(0, 0.3, (200_000, J, 3)).astype(np.float32)
    ours = {s: WGAN(replace(cfg, sampling=s), real) for s in ("shuffle", "uniform")}  # shuffle: the paper configs
    base = Straightforward(cfg, real)
    n = tf.constant(cfg.iters_per_call)
    per_iter = cfg.n_critic + 1
    res = {"straightforward": [], "apo_tf shuffle": [], "apo_tf uniform": []}
    for _ in range(args.rounds):  # alternate, so background load hits all alike
        res["straightforward"].append(timed(base.iteration, per_iter, args.seconds))
        for s, gan in ours.items():
            res[f"apo_tf {s}"].append(timed(lambda g=gan: g.run_iterations(n), per_iter * cfg.iters_per_call,
                                            args.seconds))
    fl = flops_per_step(cfg, J)
    peak = matmul_peak()
    print(f"gan_id {args.gan_id}: {fl / 1e6:.1f} MFLOP per global step; dense matmul peak here {peak:.0f} GFLOP/s "
          f"-> at most {peak * 1e9 / fl:,.0f} steps/s; load average {os.getloadavg()[0]:.1f}")
    for k, v in res.items():
        best = max(v)
        print(f"{k:>16}: {best:10,.0f} global steps/s (best of {len(v)}; all {[round(x) for x in v]}), "
              f"{best * fl / 1e9:6.1f} GFLOP/s, 1e7 steps in {1e7 / best / 60:6.1f} min")
    for s in ("shuffle", "uniform"):
        print(f"ratio apo_tf ({s}) / straightforward: {max(res[f'apo_tf {s}']) / max(res['straightforward']):.2f}x "
              f"(target 20,000 steps/s)")


if __name__ == "__main__":
    main()
