"""The command line end to end at tiny size: train -> infer -> report -> vis, and resume via the CLI."""

import json

from apo_tf.main import main
from motionkit.errors import run_cli


def test_cli_train_infer_report_vis(tmp_path, capsys):
    home = ["--home", str(tmp_path)]
    assert run_cli(main, [*home, "train", "synth_tiny", "--max_steps", "1200"]) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["step"] == 1200 and "gan_id" in out  # config printed at start
    assert (tmp_path / "models/synth_tiny/samples.png").exists()
    assert list((tmp_path / "models/synth_tiny/tb").iterdir())
    assert run_cli(main, [*home, "train", "synth_tiny", "--max_steps", "1800"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["start_step"] == 1200
    assert run_cli(main, [*home, "infer", "synth_tiny", "--max_sequences", "1"]) == 0
    assert run_cli(main, [*home, "report", "synth_tiny"]) == 0
    out = capsys.readouterr().out
    assert "Total (frames)" in out and "mean-pose baseline" in out
    assert run_cli(main, [*home, "vis", "synth_tiny"]) == 0
    assert list((tmp_path / "vis").glob("*.gif"))
    assert run_cli(main, [*home, "report", "no_such_id"]) == 2
