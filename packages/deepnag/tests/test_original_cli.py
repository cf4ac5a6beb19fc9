"""The original's command lines, files and data layout through our CLI (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from deepnag_testutils import write_original_checkpoint

from deepnag.data import load_dollar_gds, load_jk2017, write_synthetic_kinect, write_synthetic_pen
from deepnag.main import build_parser, main, train_config
from deepnag.models import load_generator

# every command of the original README, with `python main.py` -> `python -m deepnag.main`
README_TRAIN = [
    "--model=DeepNAG --dataset=dollar-gds --use-tensorboard=1",
    "--model=DeepNAG --dataset=jk2017-kinect",
    "--model=DeepGAN --dataset=dollar-gds --use-tensorboard=1",
    "--model=DeepGAN --dataset=jk2017-kinect",
    "--model=DeepNAG --dataset=jk2017-kinect --epoch=5000",
]
README_EVALUATE = [
    "--model=DeepNAG --dataset=dollar-gds --evaluate=pretrained_models/DeepNAG/dollar-gds/checkpoint-best.tar",
    "--model=DeepNAG  --dataset=jk2017-kinect --evaluate=pretrained_models/DeepNAG/jk2017-kinect/checkpoint-best.tar",
    "--model=DeepGAN --dataset=dollar-gds --evaluate=pretrained_models/DeepGAN/dollar-gds/checkpoint-best.tar",
    "--model=DeepGAN  --dataset=jk2017-kinect --evaluate=pretrained_models/DeepGAN/jk2017-kinect/checkpoint-best.tar",
]
# every flag of the original's options.py, with a non-default value
OPTIONS = ("--datapath=d --dataset-name=jk2017-kinect --seed=7 --model=DeepGAN --latent-dim=16 --resample-n=32 "
           "--lr=0.001 --beta0=0.4 --beta1=0.8 --batch-size=32 --epochs=9 --deepgan-critic-iters=3 "
           "--deepgan-lambda=5 --use-tensorboard=1 --vis-frequency=7 --checkpoint-frequency=3 "
           "--experiment-name=my run")


def test_every_readme_command_parses():
    for line in README_TRAIN:
        cfg = train_config(build_parser().parse_args(line.split()))
        model = line.split("--model=")[1].split()[0]
        assert cfg.model == model and cfg.dataset in line
        assert cfg.epochs == (5000 if "--epoch=" in line else {"DeepNAG": 25000, "DeepGAN": 150000}[model])
        assert cfg.checkpoint_every == 10000 and cfg.keep_checkpoints == 0  # the original's defaults
        assert cfg.use_tensorboard == ("--use-tensorboard=1" in line)
    for line in README_EVALUATE:
        args = build_parser().parse_args(line.split())
        assert args.evaluate.startswith("pretrained_models/") and args.model in ("DeepNAG", "DeepGAN")


def test_every_original_option_has_its_meaning():
    args = build_parser().parse_args(OPTIONS.split()[:-1] + ["--experiment-name=my run"])
    cfg = train_config(args)
    assert (cfg.datapath, cfg.dataset, cfg.seed, cfg.model, cfg.latent_dim, cfg.resample_n) == \
        ("d", "jk2017-kinect", 7, "DeepGAN", 16, 32)
    assert (cfg.lr, cfg.beta0, cfg.beta1, cfg.batch_size, cfg.epochs) == (0.001, 0.4, 0.8, 32, 9)
    assert (cfg.critic_iters, cfg.gp_lambda, cfg.use_tensorboard, cfg.vis_frequency, cfg.checkpoint_every) == \
        (3, 5.0, True, 7, 3)
    assert cfg.experiment_name == "my-run" and cfg.resolved_run_name() == "DeepGAN-jk2017-kinect-my-run"
    seeds = {train_config(build_parser().parse_args(["--seed=-1"])).seed for _ in range(3)}
    assert all(s >= 0 for s in seeds) and len(seeds) > 1  # -1: a random seed, recorded in the config


@pytest.fixture
def original_checkout(tmp_path, monkeypatch):
    """A folder laid out like the original repository: data/dollar_gds/xml_logs, data/jk2017/kinect/training,
    pretrained_models/<model>/<dataset>/checkpoint-best.tar (in the original's format)."""
    write_synthetic_pen(tmp_path / "data" / "dollar_gds", n_subjects=2, n_repetitions=2)
    write_synthetic_kinect(tmp_path / "data" / "jk2017" / "kinect", n_subjects=1, n_repetitions=1)
    for model in ("DeepNAG", "DeepGAN"):
        folder = tmp_path / "pretrained_models" / model / "dollar-gds"
        folder.mkdir(parents=True)
        write_original_checkpoint(folder / "checkpoint-best.tar", model=model)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_train_command_runs_one_epoch_in_an_original_checkout(original_checkout):
    assert main((README_TRAIN[0] + " --epoch=1 --device=cpu").split()) == 0
    run = original_checkout / "runs" / "deepnag" / "DeepNAG-dollar-gds"
    assert (run / "last.pt").is_file() and (run / "best.pt").is_file() and (run / "samples.png").is_file()
    events = list((run / "tb").glob("events.out.tfevents.*"))
    assert events
    from tensorboardX.proto import event_pb2  # the original's tags are there

    tags = set()
    for raw in _records(events[0]):
        event = event_pb2.Event.FromString(raw)
        tags |= {v.tag for v in event.summary.value}
    assert {"loss_train", "best_loss_train", "loss_ed_train", "const_latent"} <= tags


def _records(path):
    """The records of a TFRecord file (length, crc, data, crc)."""
    import struct

    data = path.read_bytes()
    i = 0
    while i < len(data):
        (n,) = struct.unpack("<Q", data[i:i + 8])
        yield data[i + 12:i + 12 + n]
        i += 12 + n + 4


def test_readme_evaluate_command_runs_on_an_original_checkpoint(original_checkout, capsys):
    assert main(README_EVALUATE[0].split() + ["--device=cpu"]) == 0
    out = original_checkout / "runs" / "deepnag" / "eval-dollar-gds-checkpoint-best"
    assert (out / "original_grid.png").is_file() and (out / "samples.png").is_file()
    with pytest.raises(Exception, match="holds a DeepNAG model, not DeepGAN"):
        main(README_EVALUATE[0].replace("--model=DeepNAG", "--model=DeepGAN").split())


def test_convert_writes_our_format(tmp_path):
    src = tmp_path / "checkpoint-best.tar"
    write_original_checkpoint(src, n_features=63, n_classes=14)
    assert main(["convert", str(src), str(tmp_path / "ours.pt")]) == 0
    (G1, _), (G2, e2) = load_generator(src), load_generator(tmp_path / "ours.pt")
    z, y = torch.randn(3, 64, 8), torch.tensor([0, 5, 13])
    assert torch.equal(G1(z, y), G2(z, y)) and e2["config"]["dataset"] == "jk2017-kinect"


@pytest.mark.parametrize("n_features,n_classes,reader", [(2, 16, load_dollar_gds), (63, 14, load_jk2017)])
def test_sample_writes_arrays_and_the_data_sets_own_files(tmp_path, n_features, n_classes, reader):
    ckpt = tmp_path / "checkpoint-best.tar"
    write_original_checkpoint(ckpt, n_features=n_features, n_classes=n_classes)
    out = tmp_path / "out"
    assert main(["sample", str(ckpt), "--num-samples=2", f"--out={out}", "--resample-n=16"]) == 0
    arrays = np.load(out / "samples.npz")
    assert arrays["x"].shape == (2 * n_classes, 16, n_features)
    back = reader(out)  # our own reader of the data set's format
    assert len(back) == 2 * n_classes and list(back.class_names) == list(arrays["class_names"])
    order = np.argsort(arrays["labels"], kind="stable")
    got = np.stack(back.sequences)
    expected = arrays["x"][order]
    tolerance = 0.5 if n_features == 2 else 1e-5  # $1 logs hold integer pixels
    assert np.abs(got - expected).max() <= tolerance
    assert np.array_equal(back.labels, arrays["labels"][order])


def test_with_a_display_the_original_views_are_shown(original_checkout, monkeypatch):
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.setattr(plt, "switch_backend", lambda name: None)  # stay on Agg: no real window in a test
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.get_figlabels()))
    assert main(README_EVALUATE[0].split() + ["--device=cpu"]) == 0
    assert shown and "original_grid" in shown[0]
    plt.close("all")
