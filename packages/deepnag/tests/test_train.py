"""Fixed-seed training runs against golden losses, exact resume, evaluation renders, and the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from deepnag_testutils import TEST_CONFIG

from deepnag.config import make_config
from deepnag.train import train
from motionkit.training import load_checkpoint


def small_cfg(tmp_path, **over):
    over.setdefault("log_dir", str(tmp_path / "logs"))
    over.setdefault("device", "cpu")
    return make_config(TEST_CONFIG, over)


def rows(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_deepnag_20_steps_golden(tmp_path, golden):
    # test-small: 64 synthetic pen samples, batch 16 -> 4 steps per epoch; 5 epochs = 20 optimiser steps
    run = train(small_cfg(tmp_path, epochs=5, run_name="golden"))
    log = rows(run)
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5]
    golden.check("deepnag_20_steps", {
        "loss": [r["loss"] for r in log],
        "loss_ed": [r["loss_ed"] for r in log],
        "loss_cos": [r["loss_cos"] for r in log],
        "loss_resample": [r["loss_resample"] for r in log],
    }, rtol=2e-4, atol=1e-5)
    assert (run / "loss.png").is_file() and (run / "last.pt").is_file() and (run / "best.pt").is_file()


def test_deepgan_steps_golden(tmp_path, golden):
    run = train(small_cfg(tmp_path, model="DeepGAN", epochs=3, run_name="gan", checkpoint_every=3))
    log = rows(run)
    assert [r["step"] for r in log] == [1, 2, 3]
    golden.check("deepgan_3_steps", {
        "loss_d": [r["loss_d"] for r in log], "loss_g": [r["loss_g"] for r in log], "gp": [r["gp"] for r in log],
    }, rtol=2e-4, atol=1e-5)
    state = load_checkpoint(run / "last.pt")
    assert set(state["modules"]) == {"generator", "critic", "optimizer", "optimizer_critic"}


def test_bf16_precision_trains_like_fp32(tmp_path):
    # --precision bf16: the generator's GRUs under a bfloat16 autocast, float32 head and loss. Same seed and
    # data as fp32, so the epoch losses must agree to bf16 accuracy (~1e-2), and the weights stay float32.
    fp32 = rows(train(small_cfg(tmp_path, epochs=3, run_name="fp32")))
    run = train(small_cfg(tmp_path, epochs=3, run_name="bf16", precision="bf16"))
    bf16 = rows(run)
    for a, b in zip(fp32, bf16):
        assert b["loss"] == pytest.approx(a["loss"], rel=3e-2), (a, b)
    assert [r["loss"] for r in bf16] != [r["loss"] for r in fp32]  # the autocast did engage
    weights = load_checkpoint(run / "last.pt")["modules"]["generator"]
    assert all(v.dtype == torch.float32 for v in weights.values())


def test_bf16_precision_is_deepnag_only(tmp_path):
    from motionkit.errors import ConfigError

    with pytest.raises(ConfigError, match="DeepNAG only"):
        small_cfg(tmp_path, model="DeepGAN", precision="bf16")


def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    full = train(small_cfg(tmp_path, epochs=3, run_name="full"))
    train(small_cfg(tmp_path, epochs=1, run_name="cut"))  # "killed" after epoch 1 (its checkpoint is epoch 1)
    cut = train(small_cfg(tmp_path, epochs=3, run_name="cut"), resume="")  # --resume: continues the latest "cut"
    assert [r["loss"] for r in rows(full)] == [r["loss"] for r in rows(cut)]
    a, b = load_checkpoint(full / "last.pt"), load_checkpoint(cut / "last.pt")
    for key, value in a["modules"]["generator"].items():
        assert torch.equal(value, b["modules"]["generator"][key]), key


def test_evaluate_renders_and_prints_metrics(tmp_path, capsys):
    from deepnag.main import main

    cfg = small_cfg(tmp_path, epochs=1, run_name="ev")
    run = train(cfg)
    assert main([f"--evaluate={run / 'last.pt'}", "--metrics", "--metrics-subjects=1",
                 f"--log-dir={tmp_path / 'logs'}", "--device=cpu"]) == 0
    out = capsys.readouterr().out
    assert "synthetic->real" in out and "realism" in out
    ev = tmp_path / "logs" / "deepnag" / "eval-ev-last"
    assert (ev / "samples.png").is_file() and (ev / "original_grid.png").is_file()
    m = json.loads((ev / "metrics.json").read_text())
    for key in ("real->real", "synthetic->real", "real->synthetic", "real+synthetic->real"):
        assert 0.0 <= m[key] <= 1.0
    assert m["realism"] > 0 and m["diversity"] > 0


def test_kinect_render_gif(tmp_path):
    cfg = small_cfg(tmp_path, dataset="synthetic-kinect", synthetic_subjects=1, synthetic_repetitions=1,
                    epochs=1, run_name="kin", render_after_training=True, gif_classes=2, resample_n=8)
    run = train(cfg)
    assert (run / "samples.gif").stat().st_size > 1000 and (run / "samples_mid.png").is_file()


@pytest.mark.fault(3, "an unknown key in a config file")
def test_bad_config_key_is_one_line(tmp_path):
    from motionkit.errors import ConfigError

    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 3\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="learning_rate"):
        make_config(bad, {})


def test_deepgan_resume_is_exact(tmp_path):
    full = train(small_cfg(tmp_path, model="DeepGAN", epochs=2, run_name="gfull", checkpoint_every=1))
    train(small_cfg(tmp_path, model="DeepGAN", epochs=1, run_name="gcut", checkpoint_every=1))
    cut = train(small_cfg(tmp_path, model="DeepGAN", epochs=2, run_name="gcut", checkpoint_every=1), resume="")
    assert [r["loss_d"] for r in rows(full)] == [r["loss_d"] for r in rows(cut)]
    assert [r["loss_g"] for r in rows(full)] == [r["loss_g"] for r in rows(cut)]
