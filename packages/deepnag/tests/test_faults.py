"""Faults (issue 20): divergence, damaged checkpoints, bad files and configs each end in one line, nothing lost."""

from __future__ import annotations

import pytest
import torch
from deepnag_testutils import TEST_CONFIG, write_original_checkpoint

from deepnag.main import main
from motionkit.errors import run_cli
from motionkit.faults import flip_bytes, truncate, write_non_utf8
from motionkit.training import load_checkpoint

SMALL = [f"--config={TEST_CONFIG}", "--device=cpu", "--render-after-training=0", "--checkpoint-every=1"]


def _one_line(capsys, code, *needles):
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(err) == 1, err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


def test_divergence_stops_in_one_line_keeps_the_good_checkpoint_and_a_lower_lr_continues(tmp_path, capsys):
    argv = [*SMALL, f"--log-dir={tmp_path}", "--run-name=div"]
    assert main([*argv, "--epochs=2"]) == 0
    last = tmp_path / "deepnag" / "div" / "last.pt"
    before = load_checkpoint(last)
    capsys.readouterr()
    _one_line(capsys, run_cli(main, [*argv, "--epochs=4", "--resume", "--lr=1e30"]), "diverged", "--lr")
    after = load_checkpoint(last)  # still the good epoch-2 state, finite
    assert after["step"] == 2
    for key, value in before["modules"]["generator"].items():
        assert torch.equal(value, after["modules"]["generator"][key]) and torch.isfinite(value).all()
    assert main([*argv, "--epochs=4", "--resume", "--lr=5e-5"]) == 0  # a lower lr continues from the good state
    state = load_checkpoint(last)
    assert state["step"] == 4
    assert state["modules"]["optimizer"]["param_groups"][0]["lr"] == 5e-5  # applied, not the stored 1e-4


def test_resume_with_a_setting_that_cannot_change_is_refused_in_one_line(tmp_path, capsys):
    argv = [*SMALL, f"--log-dir={tmp_path}", "--run-name=fixed", "--epochs=1"]
    assert main(argv) == 0
    capsys.readouterr()
    _one_line(capsys, run_cli(main, [*argv, "--epochs=2", "--resume", "--latent-dim=4"]), "latent_dim")


@pytest.mark.parametrize("damage", [lambda p: flip_bytes(p, 100, start=200), lambda p: truncate(p, 0.5)])
def test_damaged_checkpoints_are_refused_in_one_line(tmp_path, capsys, damage):
    for path in (tmp_path / "ours.pt", tmp_path / "checkpoint-best.tar"):
        if path.suffix == ".tar":
            write_original_checkpoint(path)
        else:
            assert main([*SMALL, "--epochs=1", f"--log-dir={tmp_path}", "--run-name=r"]) == 0
            path.write_bytes((tmp_path / "deepnag" / "r" / "last.pt").read_bytes())
        damage(path)
        capsys.readouterr()
        _one_line(capsys, run_cli(main, [f"--evaluate={path}", f"--log-dir={tmp_path}"]), path.name)


def test_a_folder_or_missing_file_as_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    _one_line(capsys, run_cli(main, ["sample", str(tmp_path / "empty"), f"--out={tmp_path / 'o'}"]), "empty")
    _one_line(capsys, run_cli(main, ["convert", str(tmp_path / "nope.tar"), str(tmp_path / "x.pt")]), "nope.tar")


def test_non_finite_point_in_a_dollar_file_is_one_line(tmp_path, capsys):
    from deepnag.data import write_synthetic_pen

    write_synthetic_pen(tmp_path / "data", n_subjects=1, n_repetitions=1)
    victim = sorted((tmp_path / "data").rglob("*.xml"))[3]
    text = victim.read_text(encoding="utf-8-sig")
    victim.write_text(text.replace('X="', 'X="inf" Xold="', 1), encoding="utf-8")
    code = run_cli(main, [*SMALL, "--dataset=dollar-gds", f"--data-root={tmp_path / 'data'}", "--epochs=1",
                          f"--log-dir={tmp_path}"])
    _one_line(capsys, code, victim.name, "non-finite")


@pytest.mark.parametrize("text,needle", [("sdtw_gamma: 0\n", "sdtw-gamma"), ("beta1: 1.5\n", "beta1"),
                                         ("generator_hidden: [8, 0]\n", "generator-hidden"),
                                         ("log_every: 0\n", "log-every"), ("epochs: -5\n", "epochs")])
def test_out_of_range_config_values_are_one_line_before_any_work(tmp_path, capsys, text, needle):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    _one_line(capsys, run_cli(main, [f"--config={bad}", f"--log-dir={tmp_path}"]), needle)
    assert not (tmp_path / "deepnag").exists()


def test_non_utf8_config_is_one_line(tmp_path, capsys):
    bad = tmp_path / "utf16.yaml"
    write_non_utf8(bad, "epochs: 3\n")
    _one_line(capsys, run_cli(main, [f"--config={bad}", f"--log-dir={tmp_path}"]), "utf16.yaml")
