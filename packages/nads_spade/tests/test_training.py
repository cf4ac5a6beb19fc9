"""Fixed-seed short runs on the tiny config: golden losses, resume, gallery, evaluation, DDP."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nads_spade.evaluate import evaluate_gan, evaluate_nads, generate
from nads_spade.experiment import run_experiment
from nads_spade.train_gan import train_gan
from nads_spade.train_nads import train_nads

RTOL = 2e-3  # thread-count dependent float summation order over a few optimiser steps


@pytest.fixture(scope="module")
def gan_run(tiny_data, tmp_path_factory):
    from motionkit.config import load_config
    from nads_spade.config import Config

    cfg = load_config(Config, Path(__file__).resolve().parents[1] / "configs" / "test_tiny.yaml",
                      {"train_root": str(tiny_data / "train"), "val_root": str(tiny_data / "val"),
                       "test_root": str(tiny_data / "test_wide"),
                       "log_dir": str(tmp_path_factory.mktemp("gan_run")), "max_steps": 2,
                       "no_vgg_loss": True})
    return cfg, train_gan(cfg)


def test_gan_golden_losses_gallery_and_checkpoint(gan_run, golden):
    cfg, result = gan_run
    assert result["steps"] == 2 and Path(result["checkpoint"]).is_file()
    web = Path(result["dir"]) / "web"
    assert (web / "index.html").is_file() and len(list((web / "images").glob("*synthesized_image.png"))) == 1
    golden.check("gan_tiny", result["last"], rtol=RTOL, atol=1e-3)  # G_GAN ~ -0.03 moves ~1e-4 with threads


def test_nads_with_gan_augmentation_golden_and_resume(gan_run, tiny_cfg, golden, tmp_path):
    gan_cfg, gan = gan_run
    common = dict(gan_augment=True, gan_checkpoint=gan["checkpoint"], nads_batch_size=4)
    full = train_nads(tiny_cfg(max_steps=2, run_name="full", **common))
    golden.check("nads_tiny_gan_augmented", {"last": full["last"], "val": full["val"]}, rtol=RTOL, atol=1e-4)
    # interrupted after 1 step, then resumed (--resume) to 2: same losses as the uninterrupted run
    first = train_nads(tiny_cfg(max_steps=1, save_latest_freq=1, run_name="resumed", **common))
    resumed = train_nads(tiny_cfg(max_steps=2, run_name="resumed", **common), resume="")
    assert resumed["steps"] == 2 and resumed["dir"] == first["dir"]
    for k, v in full["last"].items():
        assert resumed["last"][k] == pytest.approx(v, rel=1e-5)
    assert Path(full["best"]).is_file()
    assert (Path(full["dir"]) / "web" / "index.html").is_file()


def test_nads_epochs_plateau_best_and_evaluate(tiny_cfg, gan_run):
    cfg = tiny_cfg(nads_epochs=2, nads_batch_size=8)
    result = train_nads(cfg)
    assert result["steps"] == 2  # 8 training images, batch 8, 2 epochs
    rows = [json.loads(x) for x in (Path(result["dir"]) / "metrics.jsonl").read_text().splitlines()]
    assert sum("val_total" in r for r in rows) == 2
    metrics = evaluate_nads(cfg, result["best"], "test")
    assert 0 <= metrics["pck_mean"] <= 1 and set(metrics["pck_per_keypoint"]) >= {"neck", "l_hip"}
    assert metrics["loss"] > 0 and metrics["paf_epe"] >= 0 and 0 <= metrics["belt_iou"] <= 1
    g = evaluate_gan(cfg, gan_run[1]["checkpoint"], result["best"], "val")
    assert g["l1"] > 0 and g["psnr"] > 0 and 0 <= g["real_pck_mean"] <= 1
    out = generate(tiny_cfg(gan_checkpoint=gan_run[1]["checkpoint"]), str(Path(result["dir"]) / "gen"), n=2)
    assert len(list(out.glob("sample_*.png"))) == 2


def test_experiment_end_to_end_tiny(tiny_cfg, tmp_path):
    cfg = tiny_cfg(experiment_nads_epochs=1, experiment_gan_epochs=1, nads_batch_size=8, synthetic_train=8,
                   synthetic_val=4, synthetic_test=4, run_name="exp")
    table = run_experiment(cfg)
    assert "| baseline |" in table and "| gan_augmented |" in table and "± n/a" in table
    runs = Path(cfg.log_dir) / "nads_spade"
    for name in ("results.md", "results.json", "augmented_samples.png"):
        assert (runs / "exp" / name).is_file()
    assert (runs / "exp-s0-augmented" / "best.pt").is_file()


@pytest.mark.ddp
def test_ddp_two_process_gloo_smoke(tiny_data, tmp_path):
    cfg = Path(__file__).resolve().parents[1] / "configs" / "test_tiny.yaml"
    common = ["--config", str(cfg), "--train_root", str(tiny_data / "train"), "--val_root", str(tiny_data / "val"),
              "--log_dir", str(tmp_path), "--max_steps", "1", "--device", "cpu", "--name", "ddp"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for cmd in ("train-gan", "train-nads"):
        proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                               "-m", "nads_spade.main", cmd, *common], capture_output=True, text=True, env=env,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
    runs = tmp_path / "nads_spade"
    assert (runs / "ddp-gan" / "last.pt").is_file() and (runs / "ddp-nads" / "last.pt").is_file()


def test_evaluate_says_so_beside_the_zeros_of_an_untrained_model(tiny_cfg, monkeypatch):
    from nads_spade import evaluate as ev

    cfg = tiny_cfg(eval_checkpoint="demo.pt")
    monkeypatch.setattr(ev, "checkpoint_or_latest", lambda path, *a: path or "missing-g.pt")
    for pck, has_note in ((0.0, True), (0.25, False)):
        monkeypatch.setattr(ev, "evaluate_nads", lambda *a, p=pck: {"pck_mean": p, "belt_iou": 0.0})
        result = ev.evaluate_command(cfg)
        assert ("note" in result) == has_note
        if has_note:
            assert "demo.pt" in result["note"] and "untrained" in result["note"]
