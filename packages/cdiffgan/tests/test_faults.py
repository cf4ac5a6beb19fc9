"""Faults (issue 20), one bad input per case, each marked with its class (motionkit.fault_suite):
1 divergence, 2 resume with a changed setting, 3 a bad value refused, 4 one line instead of a traceback,
6 two runs / one folder or cache, 7 no misleading lines, no leftovers. Class 5 (the download cache) does not
apply: cdiffgan downloads nothing (PATS is not redistributed; the synthetic set is written locally).

Each case ends as the issue requires: one `error:` line and exit 2 naming the file, value or flag, with nothing
written or the earlier checkpoint intact; or a change applied and logged. More cases of the same classes live
beside the code they exercise (test_run.py, test_data.py, test_original.py, test_models.py), marked the same way.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
import yaml

from cdiffgan import compat
from cdiffgan.data.synthetic import make_synthetic, write_synthetic
from cdiffgan.main import main
from cdiffgan.models import load_step
from motionkit.errors import run_cli
from motionkit.faults import assert_one_line_error, flip_bytes, limit_file_size, truncate, write_non_utf8
from motionkit.faults import run_cli as run_subprocess
from motionkit.training import load_checkpoint

fault = pytest.mark.fault
RUN = "tiny_pseudo-align-fs-src_k3_fs1"


def _args(data, runs, *extra):
    return ["continual", "--config", "test_tiny", "-data_dir", str(data), "--log-dir", str(runs),
            "-speaker", "oliver", "-num_epochs", "1", "--progress", "0", *extra]


def _rc(argv) -> int:
    try:
        return run_cli(main, argv)
    except SystemExit as e:                      # argparse usage errors
        return e.code


def _one_line(capsys, code, *needles) -> str:
    """In-process CLI: exit 2, no traceback, exactly one `error:` line (the last) holding every needle."""
    err_text = capsys.readouterr().err
    lines = [ln for ln in err_text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in err_text, err_text[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _finite(state: dict) -> bool:
    """Every floating tensor of a motionkit checkpoint's G and D finite and below 1e12."""
    return all(bool(torch.isfinite(v).all()) and float(v.abs().max()) < 1e12
               for net in ("G", "D") for v in state["modules"][net].values() if v.is_floating_point() and v.numel())


def _snapshot(folder) -> dict:
    """Size and mtime of every file (but the run folder's own status file and lock)."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in ("run.json", ".lock")}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def done(syn_dir, tmp_path_factory):
    """A finished two-step run (oliver, then maher); tests copy it before changing anything."""
    runs = tmp_path_factory.mktemp("done")
    torch.set_num_threads(1)
    assert main(_args(syn_dir, runs, "-speaker", "oliver,maher")) == 0
    return runs / "cdiffgan" / RUN


@pytest.fixture
def run_copy(done, tmp_path):
    """A private copy of the finished run: (log_dir, run folder)."""
    runs = tmp_path / "runs"
    shutil.copytree(done, runs / "cdiffgan" / RUN)
    return runs, runs / "cdiffgan" / RUN


@pytest.fixture
def interrupted(tiny_cfg, tmp_path):
    """A t1-only run of 3 epochs, killed after epoch 1 (last.pt, best.pt of epoch 1): (log_dir, step folder)."""
    from cdiffgan.continual import continual
    cfg = dataclasses.replace(tiny_cfg, speaker=["oliver"], num_epochs=3, log_dir=str(tmp_path / "runs"))
    assert continual(cfg, interrupt=(1, 1), log=lambda *_: None) is None
    return tmp_path / "runs", tmp_path / "runs" / "cdiffgan" / RUN / "step1_oliver"


# ------------------------------------------------------------------------------------------ 1 divergence


@fault(1, "-lr 1e30 on --resume: one line, last.pt/best.pt finite and unchanged, a lower -lr continues from them")
def test_divergence_on_resume_keeps_the_good_checkpoints_and_a_lower_lr_continues(syn_dir, interrupted, capsys):
    runs, step = interrupted
    argv = _args(syn_dir, runs, "-num_epochs", "3", "--resume")
    before = {n: (step / n).read_bytes() for n in ("last.pt", "best.pt", "ckpt_00000001.pt")}
    _one_line(capsys, run_cli(main, [*argv, "-lr", "1e30"]), "diverged", f"{step / 'last.pt'} is the last good")
    for name, data in before.items():            # untouched, loadable, finite
        assert (step / name).read_bytes() == data, name
        assert _finite(load_checkpoint(step / name)), name
    assert sorted(p.name for p in step.glob("*.pt")) == sorted(before)
    assert main([*argv, "-lr", "5e-5"]) == 0      # continues from epoch 1, not from scratch
    assert f"resumed t1 from {step / 'last.pt'} after epoch 1" in capsys.readouterr().out
    last = load_checkpoint(step / "last.pt")
    assert last["step"] == 3 and _finite(last)
    cfg, G, *_ = load_step(step / "final.pt")
    assert cfg.lr == 5e-5 and all(torch.isfinite(p).all() for p in G.parameters())


@fault(1, "-lr 1e30 in a new run: one line that claims no checkpoint, and none of the diverged weights is written")
def test_divergence_in_a_new_run_writes_no_checkpoint(syn_dir, tmp_path, capsys):
    err = _one_line(capsys, run_cli(main, _args(syn_dir, tmp_path, "-lr", "1e30")), "diverged",
                    "no checkpoint of this step was written yet")
    assert "intact" not in err
    assert not list(tmp_path.rglob("*.pt"))


@fault(1, "-lr_tn 1e30 at a few-shot step: one line, the earlier step's final.pt intact, a lower -lr_tn continues")
def test_divergence_at_a_later_step_keeps_the_earlier_steps(syn_dir, tmp_path, capsys):
    assert main(_args(syn_dir, tmp_path)) == 0
    run = tmp_path / "cdiffgan" / RUN
    final = (run / "step1_oliver" / "final.pt").read_bytes()
    argv = _args(syn_dir, tmp_path, "-speaker", "oliver,maher", "--resume")
    _one_line(capsys, run_cli(main, [*argv, "-lr_tn", "1e30"]), "diverged", "step2_maher")
    assert (run / "step1_oliver" / "final.pt").read_bytes() == final
    assert all(_finite(load_checkpoint(p)) for p in (run / "step2_maher").glob("*.pt"))
    assert main([*argv, "-lr_tn", "1e-4"]) == 0
    assert load_step(run / "step2_maher" / "final.pt")[5] == 2


# ------------------------------------------------------------------------------- 2 resume with a change


@fault(2, "--resume with a new -lr: applied to both optimisers from the resumed epoch, logged, recorded")
def test_resume_with_a_new_lr_applies_it_and_says_so(syn_dir, interrupted, capsys):
    runs, step = interrupted
    capsys.readouterr()
    assert main(_args(syn_dir, runs, "-num_epochs", "2", "--resume", "-lr", "5e-5")) == 0
    out = capsys.readouterr().out
    assert "changed since the saved run: lr: 0.0001 -> 5e-05" in out
    assert "t1: learning rate 0.0001 -> 5e-05 (changed on --resume" in out
    last = load_checkpoint(step / "last.pt")
    for opt in ("optG", "optD"):
        group = last["modules"][opt]["param_groups"][0]
        assert group["initial_lr"] == 5e-5 and group["lr"] == pytest.approx(5e-5 * 0.99 ** 2), opt
    assert yaml.safe_load((step.parent / "config.yaml").read_text())["lr"] == 5e-5
    assert load_step(step / "final.pt")[0].lr == 5e-5


@fault(2, "--resume inside a few-shot step with a new -lr_tn: applied to the restored optimisers and logged")
def test_resume_inside_a_later_step_with_a_new_lr_applies_it(syn_dir, run_copy, capsys):
    runs, run = run_copy
    (run / "step2_maher" / "final.pt").unlink()                   # step 2 killed after its last epoch
    capsys.readouterr()
    assert main(_args(syn_dir, runs, "-speaker", "oliver,maher", "--resume", "-num_epochs_tn", "3",
                      "-lr_tn", "5e-5")) == 0
    assert "t2: learning rate 0.0001 -> 5e-05 (changed on --resume" in capsys.readouterr().out
    group = load_checkpoint(run / "step2_maher" / "last.pt")["modules"]["optG"]["param_groups"][0]
    assert group["initial_lr"] == 5e-5 and group["lr"] == pytest.approx(5e-5 * 0.99 ** 3)
    assert load_step(run / "step2_maher" / "final.pt")[0].lr_tn == 5e-5


@fault(2, "--resume (extending the run) with a setting the saved weights cannot take: one line, record untouched")
@pytest.mark.parametrize("flag, value", [("-hidden", "32"), ("-num_clusters", "4"), ("-gamma", "0.5"),
                                         ("-window_hop", "8"), ("-replay_split", "original")])
def test_resume_with_a_fixed_setting_is_refused(syn_dir, run_copy, capsys, flag, value):
    runs, run = run_copy
    before = _snapshot(run)
    code = _rc(_args(syn_dir, runs, "-speaker", "oliver,maher,chemistry", "--resume", flag, value))
    _one_line(capsys, code, flag[1:], "config.yaml")
    assert _snapshot(run) == before and not (run / "step3_chemistry").exists()


@fault(2, "the issue's --resume -hidden 32 on a 16-wide run: refused; config and final.pt keep 16, render/compare work")
def test_resume_with_a_new_width_leaves_a_usable_run(syn_dir, run_copy, tmp_path, capsys):
    runs, run = run_copy
    code = _rc(_args(syn_dir, runs, "-speaker", "oliver,maher,chemistry", "--resume", "-hidden", "32"))
    _one_line(capsys, code, "hidden", "16", "32")
    assert yaml.safe_load((run / "config.yaml").read_text())["hidden"] == 16
    assert load_step(run / "step2_maher" / "final.pt")[0].hidden == 16
    assert main(["compare", str(run / "step1_oliver" / "final.pt"), str(run / "step2_maher" / "final.pt"),
                 "--speaker", "oliver", "--out", str(tmp_path / "cmp.gif")]) == 0
    assert main(["render", str(run), "--n", "1", "--speaker", "maher", "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "cmp.gif").stat().st_size > 1000 and list((tmp_path / "r").rglob("*.gif"))


# ------------------------------------------------------------------------------- 3 a bad value is refused


@fault(3, "an out-of-range or non-finite value given as a flag: one line naming it, before any run folder")
@pytest.mark.parametrize("flag, value", [
    ("-lr", "nan"), ("-lr", "inf"), ("-lr", "0"), ("-lr_tn", "-1"), ("-gamma", "0"), ("-gamma", "1.5"),
    ("-grad_clip", "-1"), ("-dropout", "1"), ("-inner_lr", "-1"), ("-lambda_rec", "-1"), ("-lambda_gan", "inf"),
    ("-time", "2.0"), ("-fps", "30"), ("-num_epochs", "0"), ("-batch_size", "0"), ("-style_iters", "-5"),
    ("-vocab_size", "0"), ("-hidden", "15"), ("-num_training_iters", "0"), ("-mask", "60"), ("-mask", "0,7,7"),
    ("-max_num_speakers", "1"),
])
def test_bad_flag_value_is_one_line_before_work(syn_dir, tmp_path, capsys, flag, value):
    code = _rc(_args(syn_dir, tmp_path / "runs", "-speaker", "oliver,maher", flag, value))
    _one_line(capsys, code, flag[1:])
    assert not (tmp_path / "runs").exists()


@fault(3, "a value that failed deep inside a run: seed beyond torch's range, a run_name / name with a path")
@pytest.mark.parametrize("flag, value", [
    ("-seed", "99999999999999999999999"),  # was: internal error from torch.manual_seed
    ("-fewshot_seed", "99999999999999999999999"),
    ("-run_name", "../../esc"),  # was: exit 0, the run folder written outside log_dir
    ("-name", "../x"), ("-run_name", ".."),
    ("-vocab_size", "999999999999"),  # was: internal error (can't allocate memory) after the run folder
    ("-loss_weights", '{"nonexistent": 1}'),  # was: refused only after a run folder was made
])
def test_value_that_failed_deep_inside_is_refused_up_front(syn_dir, tmp_path, capsys, flag, value):
    code = _rc(_args(syn_dir, tmp_path / "logs" / "runs", "-speaker", "oliver", flag, value))
    _one_line(capsys, code, flag[1:])
    assert not (tmp_path / "logs").exists() and not (tmp_path / "esc").exists()


@fault(3, "an out-of-range value in a config file: one line naming the file and the key, before any run folder")
@pytest.mark.parametrize("key, value", [("gamma", 0), ("lr", ".nan"), ("dropout", -0.5), ("time", 10.0)])
def test_bad_value_in_a_config_file_is_one_line(syn_dir, tmp_path, capsys, key, value):
    from cdiffgan.main import CONFIG_DIR
    cfg = tmp_path / "mine.yaml"
    cfg.write_text((CONFIG_DIR / "test_tiny.yaml").read_text() + f"\n{key}: {value}\n")
    argv = _args(syn_dir, tmp_path / "runs")
    argv[argv.index("test_tiny")] = str(cfg)
    _one_line(capsys, _rc(argv), key, "mine.yaml")
    assert not (tmp_path / "runs").exists()


def _bad_tokens(folder, speaker, split, value, as_float=False):
    """Put `value` at the last frame of the speaker's first `split` interval (beyond every 64-frame window)."""
    path = folder / "processed" / speaker / f"{speaker}_{split}_000.h5"
    with h5py.File(path, "a") as f:
        tok = f["text/tokens"][()].astype(np.float64 if as_float else np.int64)
        tok[-1] = value
        del f["text/tokens"]
        f["text/tokens"] = tok
    return path


@fault(3, "a token id out of range (or not a whole number) in a frame no window covers: one line naming the file")
@pytest.mark.parametrize("speaker, split, value, as_float", [("maher", "test", -1, False),
                                                              ("maher", "train", 50_000, False),
                                                              ("oliver", "dev", 1500.5, True)],
                         ids=["negative-test", "too-large-train", "fraction-dev"])
def test_token_ids_out_of_range_anywhere_are_refused_before_work(tmp_path, capsys, speaker, split, value, as_float):
    data = make_synthetic(tmp_path / "pats", ("oliver", "maher"), 1, 1, 1, seconds=(5.0, 5.0))
    path = _bad_tokens(data, speaker, split, value, as_float)
    code = _rc(_args(data, tmp_path / "runs", "-speaker", "oliver,maher"))
    _one_line(capsys, code, str(path), "text/tokens")
    assert not (tmp_path / "runs").exists() and not (data / "preprocessing").exists()


@fault(3, "an out-of-range render/compare option or a speaker the checkpoint lacks: one line (was clamped or crashed)")
@pytest.mark.parametrize("case", ["window-99", "window-neg", "speaker-compare", "speaker-render", "n-0", "titles"])
def test_bad_render_option_is_one_line(done, tmp_path, capsys, case):
    final = str(done / "step2_maher" / "final.pt")
    out = str(tmp_path / "x.gif")
    argv, needle = {
        "window-99": (["compare", final, "--speaker", "maher", "--window", "99", "--out", out], "--window 99"),
        "window-neg": (["compare", final, "--speaker", "maher", "--window", "-1", "--out", out], "--window -1"),
        "speaker-compare": (["compare", final, "--speaker", "chemistry", "--out", out], "chemistry"),
        "speaker-render": (["render", str(done), "--speaker", "chemistry", "--out", str(tmp_path)], "chemistry"),
        "n-0": (["render", str(done), "--n", "0", "--out", str(tmp_path)], "--n 0"),
        "titles": (["compare", final, "--titles", "a,b", "--speaker", "maher", "--out", out], "--titles"),
    }[case]
    _one_line(capsys, _rc(argv), needle)
    assert not (tmp_path / "x.gif").exists() and not list(tmp_path.rglob("*.gif"))


@fault(4, "more k-means centres than the source speaker has frames: one line naming num_clusters (internal error)")
def test_more_clusters_than_frames_is_one_line(syn_dir, tmp_path, capsys):
    data = tmp_path / "pats"
    shutil.copytree(syn_dir, data, ignore=shutil.ignore_patterns("preprocessing"))
    _one_line(capsys, _rc(_args(data, tmp_path / "runs", "-num_clusters", "5000")), "num_clusters 5000", "frames")
    assert not list(data.glob("preprocessing/kmeans/*.h5"))  # no k-means cache written


@fault(7, "render -load of a _weights.p that does not exist names that file (was: '..._args.args: not found')")
def test_render_load_missing_weights_names_them(tmp_path, capsys):
    missing = tmp_path / "nope_weights.p"
    line = _one_line(capsys, _rc(["render", "-load", str(missing)]), str(missing), "no such file")
    assert "args.args" not in line


@fault(4, "compare --out that is not a .gif file (a folder, .mp4): one line, was an internal error")
@pytest.mark.parametrize("out", ["folder", "x.mp4"])
def test_compare_out_not_a_gif_is_one_line(done, tmp_path, capsys, out):
    target = tmp_path if out == "folder" else tmp_path / out
    code = _rc(["compare", str(done / "step2_maher" / "final.pt"), "--speaker", "maher", "--out", str(target)])
    _one_line(capsys, code, "--out", ".gif")
    assert not list(tmp_path.iterdir())


@fault(2, "--resume with the speakers reordered: refused before the new order's statistics are computed")
def test_resume_with_reordered_speakers_computes_nothing(syn_dir, run_copy, capsys):
    runs, run = run_copy
    record = (run / "config.yaml").read_text()
    before = {k: v for k, v in _snapshot(run).items() if k != "config.yaml"}
    stats = {p.name for p in (syn_dir / "preprocessing").rglob("*.h5")}
    code = _rc(_args(syn_dir, runs, "-speaker", "chemistry,oliver", "--resume"))
    _one_line(capsys, code, "must start the list")
    assert {k: v for k, v in _snapshot(run).items() if k != "config.yaml"} == before
    assert (run / "config.yaml").read_text() == record  # (written back by motionkit after the refusal)
    assert {p.name for p in (syn_dir / "preprocessing").rglob("*.h5")} == stats


@fault(3, "a transcript word with a non-finite, negative or reversed time: one line naming the file")
@pytest.mark.parametrize("start, end", [("nan", "1.0"), ("-0.5", "1.0"), ("2.0", "1.0"), ("0.5", "inf")])
def test_bad_transcript_time_is_one_line(tmp_path, start, end):
    from cdiffgan.data.featurize import tokens_from_transcript
    from motionkit.errors import DataFormatError
    csv = tmp_path / "words.csv"
    csv.write_text(f"word,start,end\nhello,0.0,0.4\nworld,{start},{end}\n")
    with pytest.raises(DataFormatError, match="words.csv: word 'world'"):
        tokens_from_transcript(csv, 60)


@fault(3, "make-synthetic with an impossible count or speaker list: one line, nothing written")
@pytest.mark.parametrize("extra, needle", [(["--n_train", "0"], "--n_train"), (["--speakers", "a,a"], "--speakers"),
                                           (["--speakers", ""], "--speakers")])
def test_make_synthetic_bad_value_is_one_line(tmp_path, capsys, extra, needle):
    _one_line(capsys, _rc(["make-synthetic", "--out", str(tmp_path / "syn"), *extra]), needle)
    assert not (tmp_path / "syn").exists() and not list(tmp_path.iterdir())


# ------------------------------------------------------------------------- 4 one line, never a traceback


def _damage(kind, path):
    {"flip": flip_bytes, "truncate": truncate}[kind](path)


@fault(4, "a bit-flipped or truncated final.pt given to render / compare / generate, or loaded to extend the run: "
          "one line")
@pytest.mark.parametrize("kind", ["flip", "truncate"])
@pytest.mark.parametrize("use", ["render", "compare", "generate", "resume-extend"])
def test_damaged_final_checkpoint_is_one_line(syn_dir, run_copy, tmp_path, capsys, kind, use):
    runs, run = run_copy
    final = run / "step2_maher" / "final.pt"
    _damage(kind, final)
    damaged = final.read_bytes()
    argv = {"render": ["render", str(run), "--n", "1", "--out", str(tmp_path / "r")],
            "compare": ["compare", str(final), "--speaker", "maher", "--out", str(tmp_path / "c.gif")],
            "generate": ["generate", str(run), "--audio", str(tmp_path / "speech.wav"), "--speaker", "maher",
                         "--out", str(tmp_path / "g")],
            "resume-extend": _args(syn_dir, runs, "-speaker", "oliver,maher,chemistry", "--resume")}[use]
    _one_line(capsys, _rc(argv), str(final))
    assert final.read_bytes() == damaged and not list(tmp_path.rglob("*.gif"))
    assert not (run / "step3_chemistry" / "last.pt").exists()


@fault(4, "a bit-flipped or truncated last.pt on --resume: one line naming it, the file left for the user")
@pytest.mark.parametrize("kind", ["flip", "truncate"])
def test_damaged_last_checkpoint_on_resume_is_one_line(syn_dir, interrupted, capsys, kind):
    runs, step = interrupted
    _damage(kind, step / "last.pt")
    damaged = (step / "last.pt").read_bytes()
    _one_line(capsys, run_cli(main, _args(syn_dir, runs, "-num_epochs", "3", "--resume")), str(step / "last.pt"))
    assert (step / "last.pt").read_bytes() == damaged and not (step / "ckpt_00000002.pt").exists()


def _original_weights(done, folder):
    """The original's `_weights.p` of a t1 step (its key names), written from our step-1 final.pt."""
    _, G, D, *_ = load_step(done / "step1_oliver" / "final.pt")
    path = folder / "exp_0_cpk_x_speaker_oliver_model_JointLateClusterSoftStyle5_G_note_t1_weights.p"
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({**compat.generator_to_original(G.state_dict(), "G."),
                **compat.discriminator_to_original(D.state_dict())}, path)
    return path


@fault(4, "the original's bit-flipped or truncated _weights.p given as -pretrained_model_weights: one line")
@pytest.mark.parametrize("kind", ["flip", "truncate"])
def test_damaged_original_weights_are_one_line(done, syn_dir, tmp_path, capsys, kind):
    weights = _original_weights(done, tmp_path / "orig")
    assert compat.load_original_weights(weights)["kind"] == "t1"            # undamaged: reads
    _damage(kind, weights)
    argv = ["train", "-model", "StyleDiffGAN4_G", "-speaker", '[["oliver"], ["oliver", "maher"]]',
            "-pretrained_model_weights", str(weights), "-save_dir", str(tmp_path / "save"), "-path2data",
            str(syn_dir), "-modalities", '["pose/normalize", "audio/log_mel_400", "text/tokens"]', "-fs_new",
            "[15, 15, 15]", "-input_modalities", '["audio/log_mel_400", "text/tokens"]', "-output_modalities",
            '["pose/normalize"]', "-gan", "align_diffgan", "-loss", "L1Loss", "-num_clusters", "3", "-feats",
            '["pose", "velocity", "speed"]', "-num_epochs", "1", "-num_training_iters", "1", "-repeat_text", "0",
            "-no_grad", "0", "-update_D_prob_flag", "0", "-cuda", "-1", "--text_encoder", "embedding",
            "--progress", "0"]
    _one_line(capsys, _rc(argv), str(weights))
    assert not list((tmp_path / "save").rglob("*_weights.p"))


@fault(4, "a foreign or mismatched final.pt (KeyError 'config' before): one line naming it")
@pytest.mark.parametrize("case", ["other-keys", "not-a-dict", "text", "weights-config-mismatch"])
def test_foreign_final_checkpoint_is_one_line(run_copy, tmp_path, capsys, case):
    _, run = run_copy
    final = run / "step2_maher" / "final.pt"
    if case == "other-keys":
        torch.save({"model": {}}, final)
    elif case == "not-a-dict":
        torch.save([1, 2, 3], final)
    elif case == "text":
        final.write_text("model weights\n")
    else:                                       # the record: hidden 32 written beside 16-wide weights
        state = torch.load(final, weights_only=False)
        state["config"]["hidden"] = 32
        torch.save(state, final)
    _one_line(capsys, _rc(["compare", str(final), "--speaker", "maher", "--out", str(tmp_path / "c.gif")]),
              str(final))
    _one_line(capsys, _rc(["render", str(run), "--n", "1", "--out", str(tmp_path / "r")]), str(final))


@fault(4, "--device cuda (no CUDA here) or a bogus device: one line about the device, never blaming the checkpoint")
@pytest.mark.parametrize("device", ["cuda", "cuda:7", "bogus"])
@pytest.mark.parametrize("cmd", ["render", "compare", "continual"])
def test_bad_device_is_one_line_about_the_device(done, syn_dir, tmp_path, capsys, device, cmd):
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    argv = {"render": ["render", str(done), "--n", "1", "--out", str(tmp_path / "r")],
            "compare": ["compare", str(done / "step2_maher" / "final.pt"), "--speaker", "maher", "--out",
                        str(tmp_path / "c.gif")],
            "continual": _args(syn_dir, tmp_path / "runs")}[cmd]
    err = _one_line(capsys, _rc([*argv, "--device", device]), "device", device)
    assert "checkpoint" not in err and "final.pt" not in err
    assert not (tmp_path / "runs").exists() and not list(tmp_path.rglob("*.gif"))


@fault(4, "a folder where a file belongs (final.pt, config, data folder): one line naming it")
@pytest.mark.parametrize("case", ["final-folder", "config-folder", "data-is-a-file"])
def test_folder_where_a_file_belongs_is_one_line(done, syn_dir, tmp_path, capsys, case):
    if case == "final-folder":
        (tmp_path / "final.pt").mkdir()
        argv, needle = ["compare", str(tmp_path / "final.pt"), "--speaker", "maher", "--out", "x.gif"], "folder"
    elif case == "config-folder":
        argv, needle = [*_args(syn_dir, tmp_path / "runs"), "--config", str(tmp_path)], str(tmp_path)
    else:
        (tmp_path / "data").write_text("not a folder")
        argv, needle = _args(tmp_path / "data", tmp_path / "runs"), str(tmp_path / "data")
    _one_line(capsys, _rc(argv), needle)
    assert not (tmp_path / "runs").exists()


@fault(4, "non-UTF-8 YAML config, data CSV, the original's args.args JSON and a run's test_metrics.json: one line")
@pytest.mark.parametrize("case", ["yaml", "csv", "args-json", "metrics-json"])
def test_non_utf8_file_is_one_line_naming_it(run_copy, tmp_path, capsys, case):
    runs, run = run_copy
    if case == "yaml":
        bad = tmp_path / "cfg.yaml"
        write_non_utf8(bad, "lr: 0.001\n")
        argv = [*_args(tmp_path, tmp_path / "new"), "--config", str(bad)]
    elif case == "csv":
        data = make_synthetic(tmp_path / "pats", ("oliver",), 1, 1, 1, seconds=(5.0, 5.0))
        bad = data / "cmu_intervals_df.csv"
        write_non_utf8(bad, bad.read_text())
        argv = _args(data, tmp_path / "new")
    elif case == "args-json":
        (tmp_path / "a_weights.p").write_bytes(b"")
        bad = tmp_path / "a_args.args"
        write_non_utf8(bad, '{"speaker": "oliver"}')
        argv = ["render", "-load", str(tmp_path / "a_weights.p")]
    else:
        bad = run / "step2_maher" / "test_metrics.json"
        write_non_utf8(bad, bad.read_text())
        argv = ["evaluate", str(run)]
    _one_line(capsys, _rc(argv), str(bad))
    assert not (tmp_path / "new").exists()


@fault(4, "render -load with a damaged, NaN or missing keypoints / ground-truth h5: one line naming the file")
@pytest.mark.parametrize("case", ["garbage", "nan", "no-ground-truth"])
def test_render_original_keypoints_damage_is_one_line(syn_dir, tmp_path, capsys, case):
    (tmp_path / "x_weights.p").write_bytes(b"")
    (tmp_path / "x_args.args").write_text(json.dumps({"speaker": "oliver", "path2data": str(syn_dir)}))
    folder = tmp_path / "x" / "keypoints" / "test" / "oliver"
    folder.mkdir(parents=True)
    name = "oliver_test_000.h5" if case != "no-ground-truth" else "oliver_test_999.h5"
    bad = folder / name
    if case == "garbage":
        bad.write_bytes(b"junk")
    else:
        with h5py.File(bad, "w") as f:
            f["pose/normalize"] = np.full((64, 2, 52), np.nan if case == "nan" else 0.0)
    needle = str(bad) if case != "no-ground-truth" else str(syn_dir / "processed" / "oliver" / name)
    _one_line(capsys, _rc(["render", "-load", str(tmp_path / "x_weights.p"), "-render", "1"]), needle)
    assert not list(tmp_path.rglob("*.gif"))


@fault(4, "degenerate data: a speaker whose intervals are all shorter than one window: one line before work")
@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_speaker_without_a_whole_window_is_one_line(tmp_path, capsys, split):
    data = make_synthetic(tmp_path / "pats", ("oliver", "maher"), 1, 1, 1, seconds=(5.0, 5.0))
    short = make_synthetic(tmp_path / "short", ("maher",), 1, 1, 1, seconds=(3.0, 3.0))
    shutil.copy(short / "processed" / "maher" / f"maher_{split}_000.h5", data / "processed" / "maher")
    _one_line(capsys, _rc(_args(data, tmp_path / "runs", "-speaker", "oliver,maher")), f"maher has no {split}")
    assert not (tmp_path / "runs").exists()


@fault(4, "disk full while a later step writes its first checkpoint: one line, earlier checkpoints intact, no .tmp")
def test_disk_full_is_one_line_and_keeps_the_earlier_checkpoints(syn_dir, run_copy):
    runs, run = run_copy
    shutil.rmtree(run / "step2_maher")                             # step 2 to do again
    step1 = {p.name: p.read_bytes() for p in (run / "step1_oliver").glob("*.pt")}
    limit = len(step1["final.pt"]) * 3 // 2                        # below an epoch checkpoint of step 2
    result = run_subprocess("cdiffgan.main", _args(syn_dir, runs, "-speaker", "oliver,maher", "--resume"),
                            preexec_fn=limit_file_size(limit), env={"OMP_NUM_THREADS": "1"}, timeout=240)
    assert_one_line_error(result, "cannot write", "disk", "step2_maher")
    assert {p.name: p.read_bytes() for p in (run / "step1_oliver").glob("*.pt")} == step1
    assert load_step(run / "step1_oliver" / "final.pt")[5] == 1
    assert not list(run.rglob("*.tmp")) and not list((run / "step2_maher").glob("*.pt"))


@fault(4, "disk full while make-synthetic writes the shared set: one line, no half set and no temp folder left")
def test_disk_full_while_writing_the_synthetic_set_is_one_line(tmp_path):
    out = tmp_path / "cache" / "pats_synthetic"
    result = run_subprocess("cdiffgan.main", ["make-synthetic", "--out", str(out), "--speakers", "oliver"],
                            preexec_fn=limit_file_size(50_000), timeout=120)
    assert_one_line_error(result, str(out), "cannot write", "disk")
    assert not out.exists() and list((tmp_path / "cache").iterdir()) == []


# ----------------------------------------------------------------------- 6 two runs, one folder or cache


@fault(6, "a -speaker typo with -synthetic when the shared cache does not exist yet: one line, nothing written")
def test_speaker_typo_writes_no_synthetic_cache(tmp_path, capsys):
    cache = tmp_path / "datasets" / "cache" / "pats_synthetic"
    _one_line(capsys, _rc(_args(cache, tmp_path / "runs", "-speaker", "olivr", "-synthetic", "1")), "olivr",
              "oliver")
    assert not (tmp_path / "datasets").exists() and not (tmp_path / "runs").exists()


@fault(6, "a -speaker typo against the shared synthetic cache: one line, the cache untouched, a later run works")
def test_speaker_typo_leaves_the_shared_cache_untouched(tmp_path, capsys):
    cache = write_synthetic(tmp_path / "datasets" / "cache" / "pats_synthetic", ("oliver", "maher"), 1, 1, 1)
    before = _snapshot(cache)
    _one_line(capsys, _rc(_args(cache, tmp_path / "runs", "-speaker", "oliver,mahr", "-synthetic", "1")), "mahr",
              "it has oliver, maher")
    assert _snapshot(cache) == before and not (tmp_path / "runs").exists()
    assert main(_args(cache, tmp_path / "runs", "-speaker", "oliver", "-synthetic", "1")) == 0
    assert {k: v for k, v in _snapshot(cache).items() if not k.startswith("preprocessing/")} == before


@fault(6, "make-synthetic into a folder that is not a synthetic set: one line, nothing written into it")
def test_make_synthetic_never_writes_into_a_foreign_folder(tmp_path, capsys):
    (tmp_path / "pats").mkdir()
    (tmp_path / "pats" / "mine.txt").write_text("user data")
    _one_line(capsys, _rc(["make-synthetic", "--out", str(tmp_path / "pats")]), str(tmp_path / "pats"))
    assert [p.name for p in (tmp_path / "pats").iterdir()] == ["mine.txt"]


@fault(6, "a damaged or foreign z-norm / k-means cache file: validated on read, logged and rebuilt, never used")
@pytest.mark.parametrize("which", ["muvar", "kmeans"])
@pytest.mark.parametrize("damage", ["garbage", "wrong-shape", "non-finite"])
def test_damaged_statistics_cache_is_rebuilt(tmp_path, which, damage):
    from cdiffgan.data.clusters import Preprocessor
    data = make_synthetic(tmp_path / "pats", ("oliver",), 2, 1, 1, seconds=(6.0, 6.0))
    good = Preprocessor.build(data, ["oliver"], num_clusters=3, log=lambda *_: None)
    path = data / "preprocessing" / which / "oliver.h5"
    if damage == "garbage":
        path.write_bytes(b"\x00garbage" * 10)
    else:
        with h5py.File(path, "a") as f:
            name = next(n for n in ("pose/normalize/mean", "centers/3_pose_velocity_speed_0_7_8_9_pose_normalize")
                        if n in f)
            value = f[name][()]
            del f[name]
            f[name] = value[..., :5] if damage == "wrong-shape" else np.full_like(value, np.nan)
    said = []
    again = Preprocessor.build(data, ["oliver"], num_clusters=3, log=said.append)
    assert any(str(path) in s and "recomputing" in s for s in said), said
    np.testing.assert_allclose(again.pose_mean, good.pose_mean, rtol=1e-6)
    np.testing.assert_array_equal(again.centers, good.centers)
    said.clear()
    Preprocessor.build(data, ["oliver"], num_clusters=3, log=said.append)
    assert not said                                               # the rebuilt file is valid: read, not recomputed


# ---------------------------------------------------------------------- 7 no misleading lines, no leftovers


@fault(7, "temp files of killed writers (statistics cache, synthetic set) are removed by the next writer")
@pytest.mark.parametrize("where", ["stats-cache", "synthetic-set"])
def test_stale_temp_files_in_data_folders_are_cleaned(tmp_path, where):
    from cdiffgan.data.clusters import Preprocessor
    pid = _dead_pid()
    if where == "stats-cache":
        data = make_synthetic(tmp_path / "pats", ("oliver",), 1, 1, 1, seconds=(5.0, 5.0))
        stale = data / "preprocessing" / "kmeans" / f".oliver.h5.{pid}.tmp"
        stale.parent.mkdir(parents=True)
        stale.write_bytes(b"half")
        Preprocessor.build(data, ["oliver"], num_clusters=3, log=lambda *_: None)
    else:
        stale = tmp_path / "cache" / f".pats_synthetic.{pid}.tmp"
        stale.mkdir(parents=True)
        (stale / "cmu_intervals_df.csv").write_text("half")
        write_synthetic(tmp_path / "cache" / "pats_synthetic", ("oliver",), 1, 1, 1)
    assert not stale.exists()
    assert [p.name for p in stale.parent.iterdir() if p.name.endswith(".tmp")] == []


@fault(7, "a checkpoint temp file of a killed write in the run folder is removed on --resume")
def test_stale_checkpoint_temp_file_is_cleaned_on_resume(syn_dir, interrupted):
    runs, step = interrupted
    stale = step / f".last.pt.{_dead_pid()}.tmp"
    stale.write_bytes(b"half")
    assert main(_args(syn_dir, runs, "-num_epochs", "2", "--resume")) == 0
    assert not stale.exists() and not list(step.parent.rglob("*.tmp"))
