"""Faults (issue 20): divergence, resume with a changed setting, damaged checkpoints (ours and the authors'),
devices, full disks, bad files and damaged caches each end as required: one ``error:`` line and exit 2 naming the
file, value or flag, nothing good lost; or a change applied and logged. Cases here are the ones the other test
files do not already hold (those carry the same ``fault`` marker where they live)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from diverse_sampling import compat
from diverse_sampling.config import CONFIG_DIR, Config
from diverse_sampling.main import main
from diverse_sampling.models import build_cvae
from diverse_sampling.train import train
from motionkit.config import load_config
from motionkit.errors import run_cli
from motionkit.faults import flip_bytes, limit_file_size, truncate, write_non_utf8
from motionkit.faults import run_cli as run_subprocess
from motionkit.training import load_checkpoint

RUN = "test_small_t1"  # the run name (and config) of every t1 run here


def _cfg(data_root, log_dir, stage="t1", **overrides) -> Config:
    base = {"data_root": str(data_root), "derived_dir": str(data_root / "derived"), "log_dir": str(log_dir),
            "device": "cpu", "eval_every": 0, "tensorboard": False}
    return load_config(Config, CONFIG_DIR / f"test_small_{stage}.yaml", {**base, **overrides})


def _argv(cfg: Config, stage: str = "t1") -> list[str]:
    return [f"--exp_name=test_small_{stage}", "--device=cpu", f"--data-root={cfg.data_root}",
            f"--log-dir={cfg.log_dir}", f"--derived_dir={cfg.derived_dir}", "--eval_every=0", "--tensorboard=0"]


def _one_line(capsys, code: int, *needles: str) -> str:
    """Exit 2, no traceback, exactly one ``error:`` line, the last one on stderr, holding every needle."""
    err = capsys.readouterr().err
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert code == 2 and "Traceback" not in err, err[-2000:]
    assert len(errors) == 1 and lines[-1] == errors[0], err[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _assert_finite_checkpoints(run_dir, step: int) -> dict:
    """Every checkpoint of the run loads and is finite; last.pt (and best.pt, where a package writes one: Diverse
    Sampling's original keeps no best model, so this package writes none) holds ``step``."""
    files = sorted(run_dir.glob("*.pt"))
    assert run_dir / "last.pt" in files
    for path in files:
        state = load_checkpoint(path)
        for name, sd in state["modules"].items():
            for key, value in sd.items() if name != "optimizer" else ():
                if isinstance(value, torch.Tensor) and value.is_floating_point():
                    assert torch.isfinite(value).all() and value.abs().max() < 1e8, (path, name, key)
    for name in ("last.pt", "best.pt"):
        if (run_dir / name).exists():
            assert load_checkpoint(run_dir / name)["step"] == step, name
    return load_checkpoint(run_dir / "last.pt")


@pytest.fixture(scope="module")
def trained(small_data_root, tmp_path_factory):
    """One epoch of t1 and of t2 (its CVAE: that t1 run), trained once; tests copy the folders they change."""
    log_dir = tmp_path_factory.mktemp("trained_runs")
    train(_cfg(small_data_root, log_dir, epochs=1))
    train(_cfg(small_data_root, log_dir, "t2", epochs=1))
    return log_dir


@pytest.fixture()
def runs(trained, tmp_path):
    """A private copy of the trained runs: ``<tmp>/runs/diverse_sampling/{test_small_t1,test_small_t2}``."""
    shutil.copytree(trained, tmp_path / "runs")
    return tmp_path / "runs"


# ---- class 1: divergence never reaches a checkpoint; a lower learning rate continues from the good state ------------

@pytest.mark.fault(1, "resume with --lr 1e30: one line, last.pt finite and unchanged, a lower lr continues")
@pytest.mark.parametrize("stage", ["t1", "t2"])
def test_divergence_keeps_the_good_checkpoint_and_a_lower_lr_continues(small_data_root, runs, stage, capsys):
    cfg = _cfg(small_data_root, runs, stage)
    run_dir = cfg.runs_root() / f"test_small_{stage}"
    key = "cvae" if stage == "t1" else "sampler"
    before = load_checkpoint(run_dir / "last.pt")["modules"][key]
    argv = [*_argv(cfg, stage), "--is_train=1", "--resume", "--epochs=3"]
    code = run_cli(main, [*argv, "--lr=1e30", "--grad_clip=0"])
    _one_line(capsys, code, "diverged in epoch 2", f"{run_dir / 'last.pt'} still holds the finite state of epoch 1",
              "--lr")
    after = _assert_finite_checkpoints(run_dir, 1)["modules"][key]
    assert all(torch.equal(before[k], after[k]) for k in before)  # the good state, untouched
    assert run_cli(main, [*argv, "--lr=0.0001"]) == 0
    assert "learning rate re-based on resume: 0.001 -> 0.0001" in capsys.readouterr().out  # applied, logged
    state = _assert_finite_checkpoints(run_dir, 3)
    assert state["modules"]["optimizer"]["param_groups"][0]["initial_lr"] == 0.0001
    assert not all(torch.equal(before[k], state["modules"][key][k]) for k in before)  # it trained on


@pytest.mark.fault(1, "weights exploded (|w| 1e30) but losses finite at checkpoint time: refused in one line")
def test_exploded_weights_at_checkpoint_time_are_not_saved(small_data_root, runs, capsys, monkeypatch):
    import diverse_sampling.train as train_module

    check = train_module.check_weights

    def explode_then_check(model, opt):
        with torch.no_grad():
            next(model.parameters()).mul_(1e30)  # after the epoch's last step: finite, no loss saw it
        check(model, opt)

    monkeypatch.setattr(train_module, "check_weights", explode_then_check)
    cfg = _cfg(small_data_root, runs)
    code = run_cli(main, [*_argv(cfg), "--is_train=1", "--resume", "--epochs=2"])
    _one_line(capsys, code, "diverged in epoch 2", "weights exploded", "epoch 1")
    assert _assert_finite_checkpoints(cfg.runs_root() / RUN, 1)["step"] == 1


@pytest.mark.fault(1, "train-classifier --cls_lr 1e30: one line, nothing non-finite saved")
def test_classifier_divergence_is_one_line(small_data_root, tmp_path, capsys):
    cfg = _cfg(small_data_root, tmp_path / "runs", "t2")
    code = run_cli(main, [*_argv(cfg, "t2"), "train-classifier", "--cls_lr=1e30"])
    _one_line(capsys, code, "diverged in epoch 1", "no checkpoint was written")
    assert not list((cfg.runs_root()).rglob("*.pt"))


# ---- class 2: resume with a changed setting -------------------------------------------------------------------

@pytest.mark.fault(2, "train-classifier --resume with a changed cls_lr (applied, logged) or cls_hidden (refused)")
@pytest.mark.parametrize("change", ["--cls_lr=0.0005", "--cls_hidden=32"])
def test_classifier_resume_applies_the_lr_and_refuses_a_new_width(small_data_root, tmp_path, capsys, change):
    cfg = _cfg(small_data_root, tmp_path / "runs", "t2", cls_epochs=1)
    argv = [*_argv(cfg, "t2"), "train-classifier", "--cls_epochs=1"]
    assert run_cli(main, argv) == 0
    run_dir = cfg.runs_root() / "test_small_classifier"
    saved = (run_dir / "config.yaml").read_text()
    capsys.readouterr()
    code = run_cli(main, [*argv, "--cls_epochs=2", "--resume", change])
    if "cls_lr" in change:
        assert code == 0
        assert "classifier learning rate applied on resume: 0.001 -> 0.0005" in capsys.readouterr().out
        assert load_checkpoint(run_dir / "last.pt")["modules"]["optimizer"]["param_groups"][0]["lr"] == 0.0005
    else:
        _one_line(capsys, code, "cls_hidden", "16 -> 32")
        assert (run_dir / "config.yaml").read_text() == saved  # the record still matches the weights


@pytest.mark.fault(2, "t2 --resume with a changed sampler size (--n_bases): refused in one line, record unchanged")
def test_t2_resume_refuses_a_new_sampler_size(small_data_root, runs, capsys):
    cfg = _cfg(small_data_root, runs, "t2")
    t2_dir = cfg.runs_root() / "test_small_t2"
    saved = (t2_dir / "config.yaml").read_text()
    code = run_cli(main, [*_argv(cfg, "t2"), "--is_train=1", "--resume", "--epochs=2", "--n_bases=8"])
    _one_line(capsys, code, "n_bases", "4 -> 8")
    assert (t2_dir / "config.yaml").read_text() == saved and load_checkpoint(t2_dir / "last.pt")["step"] == 1


@pytest.mark.fault(6, "t2 resumed / evaluated after its t1 run name resolves to another CVAE (a newer t1 run)")
@pytest.mark.parametrize("job", ["resume", "evaluate"])
def test_t2_under_another_cvae_is_refused_in_one_line(small_data_root, runs, capsys, job):
    cfg = _cfg(small_data_root, runs, "t2")
    t2_dir = cfg.runs_root() / "test_small_t2"
    shutil.copytree(cfg.runs_root() / RUN, cfg.runs_root() / f"{RUN}-2")  # a newer t1 run of the same name ...
    state = load_checkpoint(cfg.runs_root() / f"{RUN}-2" / "last.pt")
    for value in state["modules"]["cvae"].values():
        if value.is_floating_point():
            value.add_(0.01)  # ... with other weights
    torch.save(state, cfg.runs_root() / f"{RUN}-2" / "last.pt")
    saved = (t2_dir / "config.yaml").read_text()
    argv = ["--is_train=1", "--resume", "--epochs=2"] if job == "resume" else \
        ["--is_load=1", f"--model_path={t2_dir / 'last.pt'}", "--no-render"]
    _one_line(capsys, run_cli(main, [*_argv(cfg, "t2"), *argv]), "trained with the CVAE of", "--t1_checkpoint=",
              f"{RUN}-2/last.pt holds other weights")
    assert (t2_dir / "config.yaml").read_text() == saved and load_checkpoint(t2_dir / "last.pt")["step"] == 1
    pinned = [*_argv(cfg, "t2"), *argv, f"--t1_checkpoint={cfg.runs_root() / RUN / 'last.pt'}"]
    assert run_cli(main, pinned) == 0  # the CVAE it was trained with


@pytest.mark.fault(3, "windows_per_epoch that leaves each of 8 torchrun processes less than a batch")
def test_an_epoch_that_would_train_nothing_under_ddp_is_refused(small_data_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "8")  # 16 windows / 8 processes = 2 each, below batch_size 4
    cfg = _cfg(small_data_root, tmp_path / "runs")
    _one_line(capsys, run_cli(main, [*_argv(cfg), "--is_train=1"]), "windows_per_epoch = 16 over 8 processes")
    assert not (tmp_path / "runs").exists()


# ---- class 3 / 4: damaged checkpoints, ours and the authors' released format -------------------------------------

def _released_t1(path, cfg: Config):
    torch.manual_seed(0)
    compat.write_original(path, build_cvae(cfg).state_dict(), "cvae")


def _flip_a_tensor_record(path) -> None:
    """Invert 8 bytes inside the first tensor record: the pickle still loads, only the CRC check can tell."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    flip_bytes(path, 8, start=info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size // 2)


DAMAGE = {"bit-flipped": lambda p: flip_bytes(p, 100, start=200), "truncated": lambda p: truncate(p, 0.5),
          "tensor-record-flipped": _flip_a_tensor_record}


def _damaged_checkpoint_case(small_data_root, runs, capsys, damage: str, fmt: str, job: str) -> None:
    """Damage our last.pt or a released-format .pth, then evaluate it, or resume / fine-tune from it."""
    cfg = _cfg(small_data_root, runs)
    if fmt == "ours":
        path = cfg.runs_root() / RUN / "last.pt"
    else:
        path = runs / "h36m_t1.pth"
        _released_t1(path, cfg)
    good = path.read_bytes()
    DAMAGE[damage](path)
    assert path.read_bytes() != good
    if job == "evaluate":
        argv = ["--is_load=1", f"--model_path={path}", "--no-render"]
    elif fmt == "ours":
        argv = ["--is_train=1", "--resume", "--epochs=2"]
    else:  # the original's --is_load=1 --is_train=1: fine-tune the released file
        argv = ["--is_load=1", "--is_train=1", f"--model_path={path}", "--epochs=1"]
    _one_line(capsys, run_cli(main, [*_argv(cfg), *argv]), path.name, "damaged")
    assert not (cfg.runs_root() / f"{RUN}-2").exists()  # no failed run folder for a file that cannot start one


@pytest.mark.fault(4, "bit-flipped / truncated checkpoint (ours, the authors' .pth) on evaluate and resume/fine-tune")
@pytest.mark.parametrize("job", ["evaluate", "resume"])
@pytest.mark.parametrize("fmt", ["ours", "released"])
@pytest.mark.parametrize("damage", ["bit-flipped", "truncated"])
def test_damaged_checkpoint_is_one_line(small_data_root, runs, capsys, damage, fmt, job):
    _damaged_checkpoint_case(small_data_root, runs, capsys, damage, fmt, job)


@pytest.mark.fault(3, "flipped bytes inside a tensor record (the pickle still loads): refused, not used")
@pytest.mark.parametrize("job", ["evaluate", "resume"])
@pytest.mark.parametrize("fmt", ["ours", "released"])
def test_a_flipped_tensor_record_is_refused_not_loaded(small_data_root, runs, capsys, fmt, job):
    _damaged_checkpoint_case(small_data_root, runs, capsys, "tensor-record-flipped", fmt, job)


@pytest.mark.fault(4, "t2 training whose t1_checkpoint is damaged")
def test_t2_with_a_damaged_t1_checkpoint_is_one_line(small_data_root, runs, capsys):
    cfg = _cfg(small_data_root, runs, "t2")
    t1 = cfg.runs_root() / RUN / "last.pt"
    truncate(t1)
    _one_line(capsys, run_cli(main, [*_argv(cfg, "t2"), "--is_train=1", "--run-name=fresh", f"--t1_checkpoint={t1}"]),
              "last.pt", "truncated")
    assert not (cfg.runs_root() / "fresh").exists()


# ---- class 4: devices, folders, encodings, degenerate data --------------------------------------------------------

@pytest.mark.fault(4, "a device this machine lacks: one line before any work, not blaming the checkpoint")
@pytest.mark.parametrize("job,device", [("train", "cuda"), ("train", "cuda:7"), ("evaluate", "cuda"),
                                        ("evaluate", "tpu"), ("evaluate", "cuda:x")])
def test_unavailable_or_bogus_device_is_one_line(small_data_root, runs, capsys, job, device):
    if device == "cuda" and torch.cuda.is_available() or device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip(f"this machine has {device}")
    cfg = _cfg(small_data_root, runs)
    argv = ["--is_train=1", "--run-name=dev"] if job == "train" else \
        ["--is_load=1", f"--model_path={cfg.runs_root() / RUN / 'last.pt'}", "--no-render"]
    line = _one_line(capsys, run_cli(main, [*_argv(cfg), *argv, f"--device={device}"]), device)
    assert "checkpoint" not in line and "last.pt" not in line
    assert not (cfg.runs_root() / "dev").exists()


@pytest.mark.fault(4, "a folder where a file belongs")
@pytest.mark.parametrize("flag", ["--model_path", "--history", "--valid_angle_file", "--t1_checkpoint",
                                  "--classifier_checkpoint", "convert --out"])
def test_a_folder_where_a_file_belongs_is_one_line(small_data_root, runs, capsys, flag):
    cfg = _cfg(small_data_root, runs)
    folder = runs / "a_folder.pt"
    folder.mkdir()
    last = cfg.runs_root() / RUN / "last.pt"
    _released_t1(runs / "h36m_t1.pth", cfg)
    argv = {"--model_path": ["--is_load=1", f"--model_path={folder}", "--no-render"],
            "--history": ["predict", f"--model_path={last}", f"--history={folder}", "--no-render"],
            "--valid_angle_file": ["--is_train=1", f"--valid_angle_file={folder}", "--run-name=va"],
            "--t1_checkpoint": ["--exp_name=test_small_t2", "--is_train=1", f"--t1_checkpoint={folder}"],
            "convert --out": ["convert", f"--model_path={runs / 'h36m_t1.pth'}", f"--out={folder}"],
            "--classifier_checkpoint": ["--is_load=1", f"--model_path={last}", f"--classifier_checkpoint={folder}",
                                        "--no-render"]}[flag]
    _one_line(capsys, run_cli(main, [*_argv(cfg), *argv]), "a_folder.pt")


@pytest.mark.fault(4, "non-UTF-8 (UTF-16) config YAML and valid-angle JSON")
@pytest.mark.parametrize("kind", ["config", "valid_angle_json"])
def test_non_utf8_files_are_one_line(small_data_root, tmp_path, capsys, kind):
    cfg = _cfg(small_data_root, tmp_path / "runs")
    if kind == "config":
        path = tmp_path / "utf16.yaml"
        write_non_utf8(path, (CONFIG_DIR / "test_small_t1.yaml").read_text())
        argv = [*_argv(cfg), f"--config={path}", "--is_train=1"]
    else:
        path = tmp_path / "bounds.json"
        write_non_utf8(path, json.dumps({"Spine2Hip": [0.1, 0.9]}))
        argv = [*_argv(cfg), f"--valid_angle_file={path}", "--is_train=1"]
    _one_line(capsys, run_cli(main, argv), path.name)
    assert not (tmp_path / "runs" / "diverse_sampling" / RUN / "last.pt").exists()


@pytest.mark.fault(4, "a --history of NaN, inf or all-zero poses, or of metres read as --units mm")
@pytest.mark.parametrize("poses", ["nan", "inf", "zero", "metres_as_mm"])
def test_degenerate_history_is_one_line(small_data_root, runs, tmp_path, capsys, poses):
    cfg = _cfg(small_data_root, runs)
    takes = np.load(small_data_root / "data_3d_h36m.npz", allow_pickle=True)["positions_3d"].item()
    his = next(iter(takes["S9"].values()))[:12]  # real-format poses in metres
    his = {"nan": np.full_like(his, np.nan), "zero": np.zeros_like(his), "metres_as_mm": his,
           "inf": np.where(his > his.mean(), np.inf, his)}[poses]
    np.save(tmp_path / "his.npy", his)
    code = run_cli(main, [*_argv(cfg), "predict", f"--model_path={cfg.runs_root() / RUN / 'last.pt'}",
                          f"--history={tmp_path / 'his.npy'}", f"--out={tmp_path / 'out'}", "--no-render",
                          f"--units={'mm' if poses == 'metres_as_mm' else 'm'}"])
    _one_line(capsys, code, "his.npy", "NaN or inf" if poses in ("nan", "inf") else "degenerate")
    assert not (tmp_path / "out").exists()


def _mm_as_metres(his, path):
    np.save(path, his * 1000)  # a millimetre file given without --units mm: bones of hundreds of "metres"


@pytest.mark.fault(4, "a --history that is empty, of strings, complex numbers, or millimetres read as metres")
@pytest.mark.parametrize("write,needle", [
    (lambda his, p: p.write_bytes(b""), "not a readable"),
    (lambda his, p: np.save(p, np.full(his.shape, "a")), "<U1"),
    (lambda his, p: np.save(p, his.astype(np.complex128)), "complex128"),
    (_mm_as_metres, "pass --units mm"),
], ids=["empty-file", "strings", "complex", "mm-as-metres"])
def test_unusable_history_is_one_line(small_data_root, runs, tmp_path, capsys, write, needle):
    cfg = _cfg(small_data_root, runs)
    takes = np.load(small_data_root / "data_3d_h36m.npz", allow_pickle=True)["positions_3d"].item()
    write(next(iter(takes["S9"].values()))[:12], tmp_path / "his.npy")
    code = run_cli(main, [*_argv(cfg), "predict", f"--model_path={cfg.runs_root() / RUN / 'last.pt'}",
                          f"--history={tmp_path / 'his.npy'}", f"--out={tmp_path / 'out'}", "--no-render"])
    _one_line(capsys, code, "his.npy", needle)
    assert not (tmp_path / "out").exists()


@pytest.mark.fault(3, "a data file in millimetres (bones of hundreds of 'metres'): one line naming the take")
def test_a_data_file_in_millimetres_is_one_line(small_data_root, tmp_path, capsys):
    takes = np.load(small_data_root / "data_3d_h36m.npz", allow_pickle=True)["positions_3d"].item()
    takes["S1"] = {action: arr * 1000 for action, arr in takes["S1"].items()}
    root = tmp_path / "mm"
    root.mkdir()
    np.savez(root / "data_3d_h36m.npz", positions_3d=takes)
    cfg = _cfg(root, tmp_path / "runs")
    _one_line(capsys, run_cli(main, [*_argv(cfg), "--is_train=1"]), "data_3d_h36m.npz", "take S1/", "metres")
    assert not list((tmp_path / "runs").rglob("*.pt"))


@pytest.mark.fault(7, "a file where predict's --out folder or the derived_dir folder belongs: one line saying so")
@pytest.mark.parametrize("where", ["predict --out", "derived_dir"])
def test_a_file_where_an_output_folder_belongs_is_one_line(small_data_root, runs, tmp_path, capsys, where):
    cfg = _cfg(small_data_root, runs)
    takes = np.load(small_data_root / "data_3d_h36m.npz", allow_pickle=True)["positions_3d"].item()
    np.save(tmp_path / "his.npy", next(iter(takes["S9"].values()))[:12])
    blocker = tmp_path / "a_file"
    blocker.write_text("keep me")
    if where == "derived_dir":
        argv = [*_argv(cfg), "build-derived", f"--derived_dir={blocker}"]
    else:
        argv = [*_argv(cfg), "predict", f"--model_path={cfg.runs_root() / RUN / 'last.pt'}",
                f"--history={tmp_path / 'his.npy'}", f"--out={blocker}", "--no-render"]
    line = _one_line(capsys, run_cli(main, argv), "a_file", "is a file")
    assert "File exists" not in line and blocker.read_text() == "keep me"


@pytest.mark.fault(3, "make-synthetic with too few frames or takes, or a file as --data-root: one line, no data")
@pytest.mark.parametrize("flag,needle", [("--frames-per-take=-5", "--frames-per-take"),
                                         ("--frames-per-take=1", "--frames-per-take"),
                                         ("--takes-per-action=0", "--takes-per-action"),
                                         ("file", "is a file")])
def test_make_synthetic_bad_sizes_are_one_line(tmp_path, capsys, flag, needle):
    root = tmp_path / "data"
    if flag == "file":
        root.write_text("not a folder")
    code = run_cli(main, ["make-synthetic", "--exp_name=test_small_t1", f"--data-root={root}",
                          *([flag] if flag != "file" else [])])
    _one_line(capsys, code, needle)
    assert not root.exists() or root.read_text() == "not a folder"


@pytest.mark.fault(3, "an exclude_takes entry that is not '<subject>/<action>': one line (was an unpacking crash)")
@pytest.mark.parametrize("entry", ["garbage", "S1/", "/Walking"])
def test_malformed_exclusion_is_one_line(small_data_root, tmp_path, capsys, entry):
    cfg = _cfg(small_data_root, tmp_path / "runs")
    code = run_cli(main, [*_argv(cfg), f"--exclude_takes={entry}", "--strict_exclusions=1", "--is_train=1"])
    _one_line(capsys, code, "exclude_takes", repr(entry))
    assert not (tmp_path / "runs").exists()


@pytest.mark.fault(3, "a --run-name or --exp_name that is a path, or empty: one line, nothing outside the runs folder")
@pytest.mark.parametrize("flag", ["--run-name=../../escape", "--run-name=a/b", "--run-name=..",
                                  "--exp_name=../configs/test_small_t1", "--exp_name="])
def test_a_run_name_that_is_a_path_is_one_line(small_data_root, tmp_path, capsys, flag):
    cfg = _cfg(small_data_root, tmp_path / "logs" / "runs")
    argv = [*_argv(cfg), "--config=test_small_t1", flag, "--is_train=1"]
    _one_line(capsys, run_cli(main, argv), flag.split("=")[0].lstrip("-").replace("-", "_"), "plain name"
              if flag != "--exp_name=" else "empty")
    assert not (tmp_path / "logs").exists() and not (tmp_path / "escape").exists()


@pytest.mark.fault(3, "a valid-angle file that is empty or names another skeleton's angle: one line, not w_angle off")
@pytest.mark.parametrize("bounds,needle", [({}, "holds no angle"), ({"Nope": [0.1, 0.5]}, "'Nope'"),
                                           ({"Foot2LegPlane": [0.1, 0.5]}, "'Foot2LegPlane'")],
                         ids=["empty", "unknown", "humaneva-angle"])
def test_valid_angle_file_with_foreign_names_is_one_line(small_data_root, tmp_path, capsys, bounds, needle):
    cfg = _cfg(small_data_root, tmp_path / "runs")
    path = tmp_path / "bounds.json"
    path.write_text(json.dumps(bounds))
    code = run_cli(main, [*_argv(cfg), f"--valid_angle_file={path}", "--is_train=1"])
    _one_line(capsys, code, "bounds.json", needle)
    assert not list((tmp_path / "runs").rglob("*.pt"))


@pytest.mark.fault(3, "a seed too large for the per-epoch torch seed: one line before any work (was an overflow)")
@pytest.mark.parametrize("seed", [2**62, 2**64])
def test_huge_seed_is_one_line(small_data_root, tmp_path, capsys, seed):
    cfg = _cfg(small_data_root, tmp_path / "runs")
    _one_line(capsys, run_cli(main, [*_argv(cfg), f"--seed={seed}", "--is_train=1"]), "seed", "2**46")
    assert not (tmp_path / "runs").exists()


@pytest.mark.fault(3, "a valid-angle file with NaN or reversed bounds")
@pytest.mark.parametrize("bounds", [[float("nan"), 0.5], [0.9, 0.1], [-3.0, 0.5]])
def test_bad_valid_angle_bounds_are_one_line(small_data_root, tmp_path, capsys, bounds):
    cfg = _cfg(small_data_root, tmp_path / "runs")
    path = tmp_path / "bounds.json"
    path.write_text(json.dumps({"Spine2Hip": bounds}))
    code = run_cli(main, [*_argv(cfg), f"--valid_angle_file={path}", "--is_train=1"])
    _one_line(capsys, code, "bounds.json", "Spine2Hip")


@pytest.mark.fault(4, "disk full while training (file-size limit): one line, earlier checkpoint intact, no .tmp")
def test_disk_full_during_training_keeps_the_last_checkpoint(small_data_root, runs):
    cfg = _cfg(small_data_root, runs)
    run_dir = cfg.runs_root() / RUN
    before = (run_dir / "last.pt").read_bytes()
    limit = len(before) // 2  # the run's logs fit, the next checkpoint does not
    result = run_subprocess("diverse_sampling.main", [*_argv(cfg), "--is_train=1", "--resume", "--epochs=2"],
                            preexec_fn=limit_file_size(limit))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert lines[-1].startswith("error:") and sum(x.startswith("error:") for x in lines) == 1, result.stderr
    assert "cannot write" in lines[-1] and "previous checkpoint is intact" in lines[-1]
    assert (run_dir / "last.pt").read_bytes() == before
    assert _assert_finite_checkpoints(run_dir, 1)["step"] == 1
    assert not [p.name for p in run_dir.rglob("*tmp*")]


@pytest.mark.fault(4, "disk full while building the derived caches (file-size limit): one line, no .tmp")
def test_disk_full_while_building_the_cache_is_one_line(small_data_root, tmp_path):
    cfg = _cfg(small_data_root, tmp_path / "runs", derived_dir=str(tmp_path / "derived"))
    result = run_subprocess("diverse_sampling.main", [*_argv(cfg), "build-derived"],
                            preexec_fn=limit_file_size(100_000))  # the pool is ~5 MB
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert lines and lines[-1].startswith("error:") and sum(x.startswith("error:") for x in lines) == 1
    assert "candidates_" in lines[-1] and "cannot write" in lines[-1] and ".tmp" not in lines[-1], lines[-1]
    assert not [p.name for p in (tmp_path / "derived").iterdir() if p.name != ".lock"]


# ---- class 6: the derived caches shared by runs -----------------------------------------------------------------

CACHE_DAMAGE = {
    "pool-truncated": ("candidates_*.npz", lambda p: truncate(p, 0.5)),
    "pool-bit-flipped": ("candidates_*.npz", lambda p: flip_bytes(p, 20, start=400)),
    "pool-nan": ("candidates_*.npz", None),
    "angles-truncated": ("h36m_valid_angle.json", lambda p: truncate(p, 0.5)),
    "angles-utf16": ("h36m_valid_angle.json", lambda p: write_non_utf8(p, p.read_text())),
}


@pytest.mark.fault(6, "a damaged derived cache (candidate pool, valid-angle bounds) is rebuilt, with a note")
@pytest.mark.parametrize("case", list(CACHE_DAMAGE))
def test_a_damaged_cache_is_rebuilt(small_data_root, tmp_path, case):
    from diverse_sampling.data.derived import load_or_build_pool, load_or_build_valid_angles

    cfg = _cfg(small_data_root, tmp_path / "runs", derived_dir=str(tmp_path / "derived"))
    pool, bounds = load_or_build_pool(cfg, log=lambda m: None).dirs, load_or_build_valid_angles(cfg, log=lambda m: None)
    pattern, damage = CACHE_DAMAGE[case]
    path = next((tmp_path / "derived").glob(pattern))
    if damage is None:  # a pool whose fingerprint matches but whose numbers are not finite
        with np.load(path) as z:
            arrays = dict(z)
        arrays["data_candidate"][0, 0, 0, 0] = np.nan
        np.savez(path, **arrays)
    else:
        damage(path)
    notes: list[str] = []
    again = load_or_build_pool(cfg, log=notes.append).dirs, load_or_build_valid_angles(cfg, log=notes.append)
    assert any(str(path) in n and "damaged cache" in n and "rebuilding" in n for n in notes), notes
    assert np.array_equal(again[0], pool) and again[1] == bounds
    assert load_or_build_pool(cfg, log=notes.append) is not None and sum("rebuilding" in n for n in notes) == 1


@pytest.mark.fault(6, "a derived cache locked by another job: this one waits for the lock, builds once, then reads")
def test_a_locked_cache_is_waited_for_then_built_once(small_data_root, tmp_path):
    import subprocess
    import sys
    import time

    from diverse_sampling.data.derived import load_or_build_valid_angles

    cfg = _cfg(small_data_root, tmp_path / "runs", derived_dir=str(tmp_path / "derived"))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, pathlib; from diverse_sampling.data.derived import cache_lock\n"
        f"with cache_lock(pathlib.Path({str(tmp_path / 'derived')!r})):\n"
        "    print('locked', flush=True); time.sleep(1.5)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        notes: list[str] = []
        load_or_build_valid_angles(cfg, log=notes.append)
        assert time.monotonic() - start > 0.5  # it waited for the other builder's lock
    finally:
        holder.wait(timeout=30)
    assert len(notes) == 1 and "computing valid-angle bounds" in notes[0]  # built once, after the lock
    load_or_build_valid_angles(cfg, log=notes.append)
    assert len(notes) == 1  # then read, not rebuilt


# ---- class 7: leftovers and repeated lines ------------------------------------------------------------------------

@pytest.mark.fault(7, "temporary files left by killed writes (run folder, derived folder) are removed")
@pytest.mark.parametrize("where", ["run", "derived"])
def test_stale_temporaries_are_cleaned(small_data_root, runs, tmp_path, where):
    cfg = _cfg(small_data_root, runs, derived_dir=str(tmp_path / "derived"))
    folder = cfg.runs_root() / RUN if where == "run" else tmp_path / "derived"
    folder.mkdir(parents=True, exist_ok=True)
    stale = [folder / ".last.pt.abc123.tmp", folder / ".candidates_x.npz.4242.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    if where == "run":
        train(cfg, resume="")  # --resume: the run folder's owner removes what killed writers left
    else:
        from diverse_sampling.data.derived import load_or_build_valid_angles

        load_or_build_valid_angles(cfg, log=lambda m: None)  # so does the derived folder's, under its lock
    assert not [p for p in stale if p.exists()]


@pytest.mark.fault(7, "a checkpoint write that fails mid-run, then --resume: metrics.jsonl repeats no epoch")
def test_failed_save_then_resume_repeats_no_metrics_line(small_data_root, runs, monkeypatch, capsys):
    import errno

    from motionkit.training import checkpoint

    cfg = _cfg(small_data_root, runs)
    real = checkpoint.torch.save

    def full_disk(state, handle, *a, **k):
        if state.get("step") == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(state, handle, *a, **k)

    monkeypatch.setattr(checkpoint.torch, "save", full_disk)
    argv = [*_argv(cfg), "--is_train=1", "--resume", "--epochs=3"]
    _one_line(capsys, run_cli(main, argv), "No space left on device", "previous checkpoint is intact")
    monkeypatch.setattr(checkpoint.torch, "save", real)
    assert run_cli(main, argv) == 0
    rows = [json.loads(r) for r in (cfg.runs_root() / RUN / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in rows if "loss/total" in r]
    assert steps == [1, 2, 3]


@pytest.mark.fault(7, "--resume of a run whose last.pt is gone but ckpt_N.pt is there: resumed from it")
def test_resume_without_last_continues_from_the_newest_numbered_checkpoint(small_data_root, runs, capsys):
    cfg = _cfg(small_data_root, runs)
    run_dir = cfg.runs_root() / RUN
    (run_dir / "last.pt").unlink()
    capsys.readouterr()
    assert run_cli(main, [*_argv(cfg), "--is_train=1", "--resume", "--epochs=2"]) == 0
    assert "resumed from " in (out := capsys.readouterr().out) and "ckpt_00000001.pt at epoch 1" in out
    rows = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss/total" in r] == [1, 2]  # epoch 1 kept, epoch 2 trained once


@pytest.mark.fault(7, "--resume of a run killed before its first checkpoint: starts over, no repeated metrics rows")
def test_resume_before_any_checkpoint_repeats_no_metrics_line(small_data_root, runs):
    cfg = _cfg(small_data_root, runs)
    run_dir = cfg.runs_root() / RUN
    for path in run_dir.glob("*.pt"):
        path.unlink()
    assert run_cli(main, [*_argv(cfg), "--is_train=1", "--resume", "--epochs=2"]) == 0
    rows = [json.loads(r) for r in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss/total" in r] == [1, 2]
