"""The WGAN: TF1 RMSProp, weight clipping, global-step counting, resume, golden losses, GP, tf.distribute."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from apo_tf.config import GanConfig, load_gan_config
from apo_tf.optim import RMSProp
from apo_tf.train import WGAN, train


def test_rmsprop_matches_tf1_two_step_example():
    # hand computation, TF1 RMSPropOptimizer(lr=0.1, decay=0.9, momentum=0, epsilon=1e-10), ms slot starts at 1:
    # step 1, g = 2:  ms = 1 + 0.1 (4 - 1) = 1.3;    theta = 1 - 0.1 * 2 / sqrt(1.3)  = 0.8245883960...
    # step 2, g = -1: ms = 1.3 + 0.1 (1 - 1.3) = 1.27; theta += 0.1 / sqrt(1.27)       = 0.9133240469...
    v = tf.Variable([1.0], dtype=tf.float64)
    opt = RMSProp([v], lr=0.1)
    opt.apply([tf.constant([2.0], tf.float64)], [v])
    np.testing.assert_allclose(opt.ms[0].numpy(), [1.3], rtol=1e-12)
    np.testing.assert_allclose(v.numpy(), [0.8245883960], rtol=1e-9)
    opt.apply([tf.constant([-1.0], tf.float64)], [v])
    np.testing.assert_allclose(opt.ms[0].numpy(), [1.27], rtol=1e-12)
    np.testing.assert_allclose(v.numpy(), [0.9133240469], rtol=1e-9)
    # Keras' RMSprop flavour (ms from 0, eps outside the sqrt) takes a ~3x larger first step: 0.1 * 2 / sqrt(0.4)
    w = tf.Variable([1.0], dtype=tf.float64)
    RMSProp([w], lr=0.1, flavour="keras").apply([tf.constant([2.0], tf.float64)], [w])
    np.testing.assert_allclose(w.numpy(), [1.0 - 0.2 / np.sqrt(0.4)], rtol=1e-6)


def test_rmsprop_matches_tf_compat_v1_optimizer():
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 2)).astype(np.float32) for _ in range(3)]
    a = tf.Variable(np.ones((3, 2), np.float32))
    b = tf.Variable(np.ones((3, 2), np.float32))
    ours = RMSProp([a], lr=1e-2)
    ref = tf.compat.v1.train.RMSPropOptimizer(1e-2)
    for g in grads:
        ours.apply([tf.constant(g)], [a])
        ref.apply_gradients([(tf.constant(g), b)])
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)


def _tiny_cfg(**kw):
    cfg = GanConfig(n_z=4, n_g=[16], n_c=[16], batch_size=32, **kw)
    return cfg


def test_weight_clipping_holds_after_every_critic_step():
    real = np.random.default_rng(0).normal(size=(100, 14, 3)).astype(np.float32)
    gan = WGAN(_tiny_cfg(lr=5e-2), real)  # a large lr pushes many weights to the bound
    for i in range(6):
        fake = gan.generator(tf.random.normal([32, 4]))
        gan.critic_update(tf.constant(real[:32]), fake)
        vals = np.concatenate([v.numpy().ravel() for v in gan.critic.weights])
        assert np.abs(vals).max() <= 0.01 + 1e-9, f"critic step {i}"
    assert np.mean(np.isclose(np.abs(vals), 0.01)) > 0.3
    assert int(gan.step.numpy()) == 6


def test_global_step_counts_critic_and_generator_updates():
    real = np.random.default_rng(0).normal(size=(100, 14, 3)).astype(np.float32)
    gan = WGAN(_tiny_cfg(), real)
    c, g, cm, gm = gan.run_iterations(tf.constant(3))
    assert int(gan.step.numpy()) == 3 * 6 and np.isfinite([float(c), float(g), float(cm), float(gm)]).all()
    gan.run_critic_updates(tf.constant(2))
    assert int(gan.step.numpy()) == 20


def test_gradient_penalty_variant_runs():
    real = np.random.default_rng(0).normal(size=(100, 14, 3)).astype(np.float32)
    gan = WGAN(_tiny_cfg(wgan_type="gradient_penalized"), real)
    c, g, _, _ = gan.run_iterations(tf.constant(2))
    assert np.isfinite([float(c), float(g)]).all() and int(gan.step.numpy()) == 12
    assert np.abs(np.concatenate([v.numpy().ravel() for v in gan.critic.weights])).max() > 0.0


def test_resume_ends_where_an_uninterrupted_run_would(tmp_path, golden):
    cfg = lambda n: load_gan_config("synth_tiny", {"max_steps": n, "iters_per_call": 40, "ckpt_every": 300})  # noqa: E731
    full = train(cfg(603), tmp_path / "a", verbose=False)
    train(cfg(300), tmp_path / "b", verbose=False)
    resumed = train(cfg(603), tmp_path / "b", resume="", verbose=False)
    assert full["step"] == resumed["step"] == 603 and resumed["start_step"] == 300
    ga = tf.train.load_checkpoint(str(tmp_path / "a/gan-synth_tiny/ckpt-603"))
    gb = tf.train.load_checkpoint(str(tmp_path / "b/gan-synth_tiny/ckpt-603"))
    names = [n for n, _ in tf.train.list_variables(str(tmp_path / "a/gan-synth_tiny/ckpt-603"))
             if "generator" in n and "VARIABLE_VALUE" in n and "OPTIMIZER" not in n]
    assert names
    for n in names:
        np.testing.assert_allclose(ga.get_tensor(n), gb.get_tensor(n), rtol=0, atol=1e-6)
    golden.check("train_synth_tiny_603", {"critic_loss": full["critic_loss"]}, rtol=1e-3, atol=1e-6)


def test_golden_short_training(tmp_path, golden):
    s = train(load_gan_config("synth_tiny", {"max_steps": 1200, "seed": 3}), tmp_path, verbose=False)
    golden.check("train_synth_tiny_1200", {"critic_loss": s["critic_loss"], "generator_loss": s["generator_loss"]},
                 rtol=1e-3, atol=1e-6)


@pytest.mark.fault(1, "a NaN learning rate past the config check: stopped at the first call, nothing saved")
def test_nan_check_one_line(tmp_path):
    from motionkit.errors import NonFiniteLossError

    cfg = load_gan_config("synth_tiny", {"max_steps": 60})
    cfg.lr = float("nan")  # past the config check (which refuses it), to reach the in-training check
    with pytest.raises(NonFiniteLossError, match="diverged by global step .*non-finite .*no checkpoint was written"):
        train(cfg, tmp_path, verbose=False)
    assert not list((tmp_path / "gan-synth_tiny").glob("ckpt-*"))


def test_mirrored_strategy_matches_default():
    """Two virtual CPU devices (subprocess: devices must be set before TF starts)."""
    code = textwrap.dedent("""
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from apo_tf.config import GanConfig
        from apo_tf.train import WGAN, make_strategy
        real = np.random.default_rng(0).normal(size=(100, 14, 3)).astype(np.float32)
        out = []
        for name in ("default", "mirrored"):
            cfg = GanConfig(n_z=4, n_g=[16], n_c=[16], batch_size=32, strategy=name)
            strat = make_strategy(name)
            gan = WGAN(cfg, real, strat)
            r = gan.run_iterations(tf.constant(3))
            out.append([float(x) for x in r] + [float(gan.generator.weights[0].numpy().sum())])
            print(name, strat.num_replicas_in_sync, out[-1])
        assert np.allclose(out[0], out[1], rtol=1e-4, atol=1e-6), out
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "mirrored 2" in r.stdout


def test_shuffle_sampling_is_the_original_pipeline():
    """sampling=shuffle: each pass over the data set yields every pose once (buffer >= N), as
    ``shuffle(100000).repeat().batch(128)`` did; the compiled loop consumes one batch per critic update."""
    real = np.random.default_rng(0).normal(size=(96, 14, 3)).astype(np.float32)
    gan = WGAN(_tiny_cfg(sampling="shuffle", shuffle_buffer=1000), real)
    seen = gan._real_batches(3).numpy()
    assert seen.shape == (96, 14, 3)
    np.testing.assert_array_equal(np.sort(seen.reshape(96, -1), 0), np.sort(real.reshape(96, -1), 0))
    assert not np.array_equal(seen, real)  # shuffled
    gan.run_iterations(tf.constant(2))
    assert int(gan.step.numpy()) == 12
