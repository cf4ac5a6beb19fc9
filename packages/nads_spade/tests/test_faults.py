"""Faults (issue 20): divergence, resume with changed settings, bad values, damaged checkpoints, bad devices and
data files, a full disk, leftovers. Each case ends in one ``error:`` line (exit 2) naming the file, value or flag,
with nothing lost, or in a change applied and logged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from motionkit.errors import run_cli
from motionkit.faults import assert_one_line_error, flip_bytes, limit_file_size, truncate, write_non_utf8
from motionkit.faults import run_cli as run_subprocess
from motionkit.training import load_checkpoint
from nads_spade.compat import save_project_weights
from nads_spade.main import main
from nads_spade.models import build_generator, build_nads

CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "test_tiny.yaml")
PROJECT = ["--pvt_variant", "project", "--fpn_wiring", "original"]


def args(data, log_dir, *extra):
    return ["--config", CONFIG, "--train_root", str(data / "train"), "--val_root", str(data / "val"),
            "--test_root", str(data / "test_wide"), "--log_dir", str(log_dir), "--device", "cpu", "--tensorboard",
            "0", "--num_threads", "1", "--no_vgg_loss", "1", *extra]


def one_line(capsys, argv, *needles) -> str:
    """Run the CLI in process: exit 2 and exactly one final ``error:`` line holding every needle."""
    capsys.readouterr()
    try:
        code = run_cli(main, argv)
    except SystemExit as exc:  # argparse's own one-line errors
        code = exc.code
    text = capsys.readouterr().err
    assert "Traceback" not in text, text[-2000:]
    err = [line for line in text.splitlines() if line.strip() and not line.startswith("train-")]
    errors = [line for line in err if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and err[-1] == errors[0], err[-5:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def all_finite(state: dict) -> bool:
    return all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


@pytest.fixture(scope="module")
def nads_ckpt(tiny_data, tmp_path_factory):
    """Our best.pt of a 1-step tiny NADS-Net run and the project's file of a tiny project-variant NADS-Net."""
    root = tmp_path_factory.mktemp("fault_ckpts")
    assert run_cli(main, ["train-nads", *args(tiny_data, root, "--max_steps", "1", "--run_name", "n")]) == 0
    from motionkit.config import load_config
    from nads_spade.config import Config

    cfg = load_config(Config, CONFIG, {"pvt_variant": "project", "fpn_wiring": "original"})
    project = save_project_weights(build_nads(cfg), "nads", root / "traditionally_trained_NADS_Net_with_PVT.pth")
    generator = save_project_weights(build_generator(cfg), "G", root / "latest_net_G.pth")
    return {"ours": root / "nads_spade" / "n" / "best.pt", "project": project, "G": generator}


# --- class 1: divergence ------------------------------------------------------------------------------------------

@pytest.mark.fault(1, "train-nads --nads_lr 1e30 on resume: one line, good checkpoints kept, lower lr continues")
def test_nads_divergence_keeps_the_good_checkpoints_and_a_lower_lr_continues(tiny_data, tmp_path, capsys):
    base = ["train-nads", *args(tiny_data, tmp_path, "--run_name", "div", "--save_latest_freq", "1")]
    assert run_cli(main, [*base, "--max_steps", "1"]) == 0
    run = tmp_path / "nads_spade" / "div"
    before = {n: load_checkpoint(run / n) for n in ("last.pt", "best.pt")}
    line = one_line(capsys, [*base, "--max_steps", "3", "--resume", "--nads_lr", "1e30"], "diverged at step 2",
                    "loss total", "--nads_lr", str(run / "last.pt"))
    assert "--resume" in line
    for name, state in before.items():
        after = load_checkpoint(run / name)
        assert after["step"] == 1 and all_finite(after["modules"]["net"])
        assert states_equal(state["modules"]["net"], after["modules"]["net"])
    assert not list(run.glob("ckpt_0000000[23].pt"))
    assert run_cli(main, [*base, "--max_steps", "3", "--resume", "--nads_lr", "1e-4"]) == 0
    state = load_checkpoint(run / "last.pt")
    assert state["step"] == 3 and state["modules"]["opt"]["param_groups"][0]["lr"] == 1e-4
    assert all_finite(state["modules"]["net"])


@pytest.mark.fault(1, "train-gan --lr 1e30 on resume: one line, good checkpoint kept, lower lr continues")
def test_gan_divergence_keeps_the_good_checkpoint_and_a_lower_lr_continues(tiny_data, tmp_path, capsys):
    base = ["train-gan", *args(tiny_data, tmp_path, "--run_name", "gdiv", "--save_latest_freq", "1")]
    assert run_cli(main, [*base, "--max_steps", "1"]) == 0
    last = tmp_path / "nads_spade" / "gdiv" / "last.pt"
    before = load_checkpoint(last)
    one_line(capsys, [*base, "--max_steps", "3", "--resume", "--lr", "1e30"], "diverged at step 2", "loss", "--lr")
    after = load_checkpoint(last)
    assert after["step"] == 1
    for net in ("G", "D"):
        assert all_finite(after["modules"][net]) and states_equal(before["modules"][net], after["modules"][net])
    capsys.readouterr()
    assert run_cli(main, [*base, "--max_steps", "3", "--resume", "--lr", "1e-5"]) == 0
    assert "optimizer of G: lr 0.0001 -> 5e-06" in capsys.readouterr().out  # the lower lr, applied and logged
    state = load_checkpoint(last)
    assert state["step"] == 3 and state["modules"]["opt_G"]["param_groups"][0]["lr"] == 5e-6  # TTUR: lr / 2


@pytest.mark.fault(7, "divergence before the first checkpoint does not claim a checkpoint is intact")
def test_divergence_before_any_checkpoint_says_none_was_written(tiny_data, tmp_path, capsys):
    line = one_line(capsys, ["train-nads", *args(tiny_data, tmp_path, "--run_name", "d0", "--max_steps", "2",
                                                 "--nads_lr", "1e30")], "diverged at step 1", "no checkpoint")
    assert "intact" not in line and "last good" not in line
    assert not list((tmp_path / "nads_spade" / "d0").glob("*.pt"))


# --- class 2: resume with a changed setting ---------------------------------------------------------------------

@pytest.mark.fault(2, "train-nads --resume with a new --nads_lr: applied to the optimizer and logged")
def test_resume_applies_a_changed_nads_lr_and_logs_it(tiny_data, tmp_path, capsys):
    base = ["train-nads", *args(tiny_data, tmp_path, "--run_name", "lr")]
    assert run_cli(main, [*base, "--max_steps", "1"]) == 0
    capsys.readouterr()
    assert run_cli(main, [*base, "--max_steps", "2", "--resume", "--nads_lr", "5e-4"]) == 0
    out = capsys.readouterr().out
    assert "nads_lr: 0.001 -> 0.0005" in out and "optimizer lr: 0.001 -> 0.0005" in out
    run = tmp_path / "nads_spade" / "lr"
    assert load_checkpoint(run / "last.pt")["modules"]["opt"]["param_groups"][0]["lr"] == 5e-4
    assert "nads_lr: 0.0005" in (run / "config.yaml").read_text()


@pytest.mark.parametrize("command, change", [
    ("train-nads", ["--head_channels", "16"]), ("train-nads", ["--pvt_embed_dims", "[16,32,48,128]"]),
    ("train-nads", ["--fpn_channels", "8"]), ("train-nads", ["--nads_optimizer", "adam"]),
    ("train-gan", ["--ngf", "8"]), ("train-gan", ["--n_layers_D", "3"]),
])
@pytest.mark.fault(2, "--resume with a changed layer width/architecture: refused, record and weights untouched")
def test_resume_with_a_changed_architecture_is_refused_and_nothing_rewritten(tiny_data, tmp_path, capsys, command,
                                                                             change):
    base = [command, *args(tiny_data, tmp_path, "--run_name", "arch")]
    assert run_cli(main, [*base, "--max_steps", "1"]) == 0
    run = tmp_path / "nads_spade" / "arch"
    config, last = (run / "config.yaml").read_bytes(), (run / "last.pt").read_bytes()
    one_line(capsys, [*base, "--max_steps", "2", "--resume", *change], change[0].lstrip("-"), "does not fit")
    assert (run / "config.yaml").read_bytes() == config and (run / "last.pt").read_bytes() == last


# --- class 3: bad values are refused before anything is written ------------------------------------------------

@pytest.mark.parametrize("command, flag, value", [
    ("train-nads", "--nads_epochs", "0"), ("train-nads", "--nads_epochs", "-3"), ("train-gan", "--niter", "0"),
    ("train-nads", "--max_steps", "-5"), ("train-nads", "--nads_batch_size", "99"),
    ("train-gan", "--gan_batch_size", "99"), ("train-nads", "--pvt_num_heads", "[3,2,3,4]"),
    ("train-nads", "--nads_lr", "inf"), ("train-nads", "--nads_lr", "1e300"), ("train-gan", "--lr", "-1"),
    ("train-nads", "--nads_momentum", "1.5"), ("train-nads", "--head_channels", "6"),
    ("train-gan", "--label_nc", "5"), ("train-gan", "--num_upsampling_layers", "most"),
    ("train-nads", "--sigma", "0"), ("train-nads", "--plateau_factor", "1.5"), ("train-nads", "--pvt_depths",
                                                                                   "[1,0,1,1]"),
    ("train-gan", "--beta2", "1"), ("evaluate", "--peak_threshold", "nan"), ("make-synthetic", "--synthetic_val", "0"),
])
@pytest.mark.fault(3, "an out-of-range value: one line naming it, before any run folder")
def test_out_of_range_value_is_one_line_before_anything_is_written(tiny_data, tmp_path, capsys, command, flag,
                                                                    value):
    one_line(capsys, [command, *args(tiny_data, tmp_path / "runs", flag, value)], flag.lstrip("-"))
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command, flag, value, needle", [
    ("train-nads", "--pvt_sr_ratios", "[64,64,64,64]", "grid"),  # was: internal error from the conv
    ("train-nads", "--seed", "99999999999999999999999", "seed"),  # was: internal error from torch.manual_seed
    ("experiment", "--experiment_seeds", "[0,0]", "repeated"),  # was: exit 0, one seed's results lost
    ("train-nads", "--run_name", "../../escape", "plain folder name"),  # was: a run folder outside log_dir
    ("train-gan", "--run_name", "..", "plain folder name"), ("train-nads", "--name", "../up", "plain folder name"),
])
@pytest.mark.fault(3, "a value that only fails deep inside a run (sr ratio, seed range, repeated seed, run_name path)")
def test_value_that_failed_deep_inside_is_refused_up_front(tiny_data, tmp_path, capsys, command, flag, value,
                                                           needle):
    one_line(capsys, [command, *args(tiny_data, tmp_path / "logs" / "runs", flag, value)], flag.lstrip("-"),
             needle)
    assert not (tmp_path / "logs").exists() and not (tmp_path / "escape").exists()


@pytest.mark.parametrize("flags, needle", [
    (["--data_format", "coco", "--coco_train_json", ""], "--coco_train_json is empty"),  # was: ".: is a folder"
    (["--data_format", "coco", "--coco_train_json", "x.json", "--coco_train_images", ""],
     "--coco_train_images is empty"),
    (["--train_root", ""], "--train_root is empty"),  # was: ".: no *_keypoint_Annotation*.json file"
])
@pytest.mark.fault(7, "an empty data path names its flag instead of blaming the current folder")
def test_empty_data_path_names_its_flag(tiny_data, tmp_path, capsys, flags, needle):
    one_line(capsys, ["train-nads", *args(tiny_data, tmp_path / "runs", "--max_steps", "1", *flags)], needle)


@pytest.mark.parametrize("kind, choice", [("nads_optimizer", "sgd"), ("nads_optimizer", "adam"),
                                          ("lr_schedule_type", "fixed"), ("lr_schedule_type", "metric-based")])
@pytest.mark.fault(3, "every nads_optimizer / lr_schedule_type choice builds its own class (rmsprop ran SGD)")
def test_every_optimizer_and_schedule_choice_dispatches(tiny_cfg, kind, choice):
    from typing import get_args, get_type_hints

    from nads_spade.config import Config
    from nads_spade.train_nads import OPTIMIZERS, SCHEDULERS, make_optimizer

    table = OPTIMIZERS if kind == "nads_optimizer" else SCHEDULERS
    assert set(get_args(get_type_hints(Config)[kind])) == set(table)  # no choice without an implementation
    opt, sched = make_optimizer(tiny_cfg(**{kind: choice}), torch.nn.Linear(2, 2))
    made = opt if kind == "nads_optimizer" else sched
    expected = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "fixed": torch.optim.lr_scheduler.StepLR,
                "metric-based": torch.optim.lr_scheduler.ReduceLROnPlateau}[choice]
    assert type(made) is expected


@pytest.mark.fault(3, "max_steps beyond the epochs: the finished run is not resumed into doing nothing")
def test_max_steps_beyond_the_epochs_still_counts_the_run_finished(tiny_data, tmp_path, capsys):
    base = ["train-nads", *args(tiny_data, tmp_path, "--run_name", "fin", "--nads_epochs", "1", "--max_steps", "50")]
    assert run_cli(main, base) == 0
    one_line(capsys, [*base, "--resume"], "already finished")


# --- class 4: damaged checkpoints, devices, folders, encodings, data --------------------------------------------

DAMAGE = {"bit-flipped": lambda p: flip_bytes(p, 100, start=100), "truncated": lambda p: truncate(p, 0.5)}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("fmt", ["ours", "project"])
@pytest.mark.parametrize("command", ["predict", "evaluate"])
@pytest.mark.fault(4, "a damaged NADS-Net checkpoint (ours or the project's .pth) on predict/evaluate")
def test_damaged_nads_checkpoint_is_one_line(tiny_data, nads_ckpt, tmp_path, capsys, command, fmt, damage):
    path = tmp_path / nads_ckpt[fmt].name
    shutil.copy(nads_ckpt[fmt], path)
    DAMAGE[damage](path)
    inputs = [str(tiny_data / "val" / "Raw_Images"), "--out", str(tmp_path / "pred")] if command == "predict" else []
    one_line(capsys, [command, *inputs, *args(tiny_data, tmp_path, "--eval_checkpoint", str(path),
                                              *(PROJECT if fmt == "project" else []))], str(path), "damaged")
    assert not (tmp_path / "pred").exists()


def _nan_weights(ckpt, path):
    state = torch.load(ckpt["project"], weights_only=True)
    next(v for v in state.values() if v.is_floating_point() and v.numel()).view(-1)[0] = float("nan")
    torch.save(state, path)
    return PROJECT, "non-finite"


def _generator_file(ckpt, path):
    shutil.copy(ckpt["G"], path)
    return PROJECT, "lacks"


def _our_run_with_other_widths(ckpt, path):
    shutil.copy(ckpt["ours"], path)
    return ["--head_channels", "16"], "does not fit"


@pytest.mark.parametrize("make", [_nan_weights, _generator_file, _our_run_with_other_widths],
                         ids=["nan-weights", "generator-as-nads", "other-widths"])
@pytest.mark.fault(4, "a foreign or mismatched NADS-Net file on predict: one line naming it")
def test_foreign_nads_file_on_predict_is_one_line(tiny_data, nads_ckpt, tmp_path, capsys, make):
    path = tmp_path / "weights.pth"
    extra, problem = make(nads_ckpt, path)
    one_line(capsys, ["predict", str(tiny_data / "val" / "Raw_Images"), "--out", str(tmp_path / "pred"),
                      *args(tiny_data, tmp_path, "--eval_checkpoint", str(path), *extra)], str(path), problem)
    assert not (tmp_path / "pred").exists()


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.fault(4, "a damaged last.pt on --resume")
def test_damaged_last_checkpoint_on_resume_is_one_line(tiny_data, tmp_path, capsys, damage):
    base = ["train-nads", *args(tiny_data, tmp_path, "--run_name", "dmg")]
    assert run_cli(main, [*base, "--max_steps", "1"]) == 0
    last = tmp_path / "nads_spade" / "dmg" / "last.pt"
    DAMAGE[damage](last)
    one_line(capsys, [*base, "--max_steps", "2", "--resume"], str(last), "damaged")


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("flag", ["--gan_checkpoint", "--pvt_pretrained", "--vgg_weights", "--nads_init"])
@pytest.mark.fault(4, "a damaged foreign weight file (latest_net_G, pvt_tiny, vgg19, the project's NADS-Net)")
def test_damaged_foreign_weight_file_is_one_line(tiny_data, nads_ckpt, tmp_path, capsys, flag, damage):
    source = nads_ckpt["G"] if flag == "--gan_checkpoint" else nads_ckpt["project"]
    path = tmp_path / {"--pvt_pretrained": "pvt_tiny.pth", "--vgg_weights": "vgg19-dcbb9e9d.pth"}.get(flag,
                                                                                                      source.name)
    shutil.copy(source, path)
    DAMAGE[damage](path)
    command = {"--gan_checkpoint": "generate", "--vgg_weights": "train-gan"}.get(flag, "train-nads")
    extra = ["--no_vgg_loss", "0"] if flag == "--vgg_weights" else PROJECT if flag == "--nads_init" else []
    one_line(capsys, [command, *args(tiny_data, tmp_path / "runs", flag, str(path), *extra)], str(path), "damaged")
    assert not (tmp_path / "runs").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:7", "bogus", "tpu"])
@pytest.mark.parametrize("command", ["predict", "evaluate", "train-nads", "train-gan"])
@pytest.mark.fault(4, "--device cuda without CUDA, or a bogus device: one line that does not blame the checkpoint")
def test_bad_device_is_one_line_not_blaming_the_checkpoint(tiny_data, nads_ckpt, tmp_path, capsys, command, device):
    inputs = [str(tiny_data / "val" / "Raw_Images")] if command == "predict" else []
    line = one_line(capsys, [command, *inputs, *args(tiny_data, tmp_path / "runs", "--eval_checkpoint",
                                                     str(nads_ckpt["ours"])), "--device", device], repr(device))
    assert "checkpoint" not in line and "best.pt" not in line
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command, flag", [("predict", "--eval_checkpoint"), ("evaluate", "--eval_checkpoint"),
                                           ("train-nads", "--nads_init"), ("generate", "--gan_checkpoint"),
                                           ("train-gan", "--nads_checkpoint"), ("train-nads", "--config")])
@pytest.mark.fault(4, "a folder where a file belongs")
def test_a_folder_where_a_file_belongs_is_one_line(tiny_data, tmp_path, capsys, command, flag):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    inputs = [str(tiny_data / "val" / "Raw_Images")] if command == "predict" else []
    one_line(capsys, [command, *inputs, *args(tiny_data, tmp_path / "runs"), flag, str(folder)], "a_folder")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("kind", ["not-an-image", "empty-file", "empty-folder"])
@pytest.mark.fault(4, "predict on a file that is not an image, or a folder without images")
def test_predict_on_a_bad_input_is_one_line_naming_it(tiny_data, nads_ckpt, tmp_path, capsys, kind):
    bad = tmp_path / ("frames" if kind == "empty-folder" else "cabin.png")
    if kind == "empty-folder":
        bad.mkdir()
    else:
        bad.write_bytes(b"" if kind == "empty-file" else b"GIF89a but not really")
    one_line(capsys, ["predict", str(bad), "--out", str(tmp_path / "pred"),
                      *args(tiny_data, tmp_path, "--eval_checkpoint", str(nads_ckpt["ours"]))], str(bad))


@pytest.mark.fault(4, "a non-UTF-8 YAML config")
def test_non_utf8_config_is_one_line(tiny_data, tmp_path, capsys):
    bad = tmp_path / "utf16.yaml"
    write_non_utf8(bad, "nads_epochs: 3\n")
    one_line(capsys, ["train-nads", "--config", str(bad), "--log_dir", str(tmp_path / "runs")], "utf16.yaml")
    assert not (tmp_path / "runs").exists()


def copy_data(tiny_data, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    return data


def _empty_mask(data):
    mask = sorted((data / "train" / "Seatbelt_Mask").rglob("*.png"))[0]
    mask.write_bytes(b"")
    return mask


def _not_an_image(data):
    image = sorted((data / "train" / "Raw_Images").rglob("*.png"))[0]
    image.write_text("this is not a PNG")
    return image


def _non_utf8_annotation(data):
    ann = next((data / "train").glob("*_keypoint_Annotation*.json"))
    ann.write_bytes(ann.read_text(encoding="utf-8").encode("utf-16"))
    return ann


def _image_folder_for_a_file(data):
    image = sorted((data / "train" / "Raw_Images").rglob("*.png"))[0]
    image.unlink()
    image.mkdir()
    return image


@pytest.mark.parametrize("damage", [_empty_mask, _not_an_image, _non_utf8_annotation, _image_folder_for_a_file],
                         ids=["empty-mask", "not-an-image", "non-utf8-json", "folder-for-an-image"])
@pytest.mark.fault(4, "a bad file in the project's data layout: one line naming it")
def test_bad_file_in_the_project_layout_is_one_line_naming_it(tiny_data, tmp_path, capsys, damage):
    data = copy_data(tiny_data, tmp_path)
    bad = damage(data)
    one_line(capsys, ["train-nads", *args(data, tmp_path / "runs", "--max_steps", "1")], bad.name)


def write_coco_set(root: Path, n: int = 2) -> tuple[Path, dict]:
    """n 64x48 images and a COCO person-keypoints file with one person each."""
    (root / "images").mkdir(parents=True)
    kp = []
    for c in range(17):
        kp += [10.0 + c, 5.0 + 2 * c, 2]
    images, anns = [], []
    for i in range(n):
        Image.new("RGB", (64, 48), (20 * i, 40, 60)).save(root / "images" / f"im{i}.jpg")
        images.append({"id": i + 1, "file_name": f"im{i}.jpg", "width": 64, "height": 48})
        anns.append({"id": i + 1, "image_id": i + 1, "category_id": 1, "iscrowd": 0, "area": 100.0,
                     "bbox": [0, 0, 30, 40], "num_keypoints": 17, "keypoints": kp})
    doc = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}
    return root / "person_keypoints_train.json", doc


COCO_DAMAGE = {
    "no-file_name": lambda doc, path: (doc["images"][0].pop("file_name"), path.write_text(json.dumps(doc))),
    "zero-width": lambda doc, path: (doc["images"][1].update(width=0), path.write_text(json.dumps(doc))),
    "non-utf8": lambda doc, path: path.write_bytes(json.dumps(doc).encode("utf-16")),
    "malformed": lambda doc, path: path.write_text(json.dumps(doc)[:-7]),
    "num_keypoints-text": lambda doc, path: (doc["annotations"][0].update(num_keypoints="17"),
                                             path.write_text(json.dumps(doc))),
    "annotation-not-an-object": lambda doc, path: (doc["annotations"].append(7), path.write_text(json.dumps(doc))),
    "not-an-image": lambda doc, path: (path.write_text(json.dumps(doc)),
                                       (path.parent / "images" / "im0.jpg").write_bytes(b"\x00" * 10)),
}


COCO_DAMAGE["not-an-image-in-a-worker"] = COCO_DAMAGE["not-an-image"]
# sweep: a declared size unlike the image's scaled every keypoint wrongly (exit 0); annotations of no listed image
# said "use a smaller batch size" at batch size 1
COCO_DAMAGE["declared-size-wrong"] = lambda doc, path: ([im.update(width=im["width"] * 3) for im in doc["images"]],
                                                        path.write_text(json.dumps(doc)))
COCO_DAMAGE["annotations-of-no-image"] = lambda doc, path: ([a.update(image_id=999) for a in doc["annotations"]],
                                                            path.write_text(json.dumps(doc)))
COCO_NEEDLE = {"declared-size-wrong": "annotation says", "annotations-of-no-image": "no usable image"}


@pytest.mark.parametrize("damage", list(COCO_DAMAGE))
@pytest.mark.fault(4, "a bad COCO keypoint file or image: one line naming the file")
def test_bad_coco_file_is_one_line_naming_it(tmp_path, capsys, damage):
    path, doc = write_coco_set(tmp_path / "coco")
    COCO_DAMAGE[damage](doc, path)
    needle = "im0.jpg" if damage.startswith("not-an-image") else COCO_NEEDLE.get(damage, path.name)
    workers = ["--num_workers", "1"] if damage.endswith("worker") else []
    one_line(capsys, ["train-nads", "--config", CONFIG, "--data_format", "coco", "--coco_train_json", str(path),
                      "--coco_train_images", str(tmp_path / "coco" / "images"), "--coco_val_json", str(path),
                      "--coco_val_images", str(tmp_path / "coco" / "images"), "--nads_batch_size", "1",
                      "--max_steps", "1", "--log_dir", str(tmp_path / "runs"), "--tensorboard", "0", *workers],
             needle)


@pytest.mark.parametrize("command", ["train-nads", "train-gan"])
@pytest.mark.fault(4, "disk full while a trainer writes a checkpoint (subprocess): one line, earlier one intact")
def test_disk_full_during_training_is_one_line_and_keeps_the_last_checkpoint(tiny_data, tmp_path, command):
    base = [command, *args(tiny_data, tmp_path, "--run_name", "full", "--save_latest_freq", "1")]
    assert run_cli(main, [*base, "--max_steps", "1"]) == 0
    run = tmp_path / "nads_spade" / "full"
    before = (run / "last.pt").read_bytes()
    result = run_subprocess("nads_spade.main", [*base, "--max_steps", "3", "--resume"],
                            preexec_fn=limit_file_size(len(before) // 3))
    assert_one_line_error(result, "ckpt_00000002.pt", "cannot write", "disk full")
    assert (run / "last.pt").read_bytes() == before and load_checkpoint(run / "last.pt")["step"] == 1
    assert not list(run.rglob("*.tmp"))


# --- class 7: leftovers ------------------------------------------------------------------------------------------

@pytest.mark.fault(7, ".tmp files left by a killed checkpoint write are removed on resume")
def test_tmp_leftovers_are_cleaned_on_resume(tiny_data, tmp_path):
    base = ["train-nads", *args(tiny_data, tmp_path, "--run_name", "tmp")]
    assert run_cli(main, [*base, "--max_steps", "1"]) == 0
    run = tmp_path / "nads_spade" / "tmp"
    for name in (".last.pt.k1ll3d.tmp", ".ckpt_00000002.pt.abc.tmp"):
        (run / name).write_bytes(b"half a checkpoint")
    assert run_cli(main, [*base, "--max_steps", "2", "--resume"]) == 0
    assert not list(run.rglob("*.tmp")) and load_checkpoint(run / "last.pt")["step"] == 2
