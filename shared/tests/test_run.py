"""The run lifecycle: a new folder per invocation, --resume, refusing finished runs, the lock, exact resume,
config changes on resume, DDP ranks agreeing on one folder."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from motionkit.errors import ConfigError
from motionkit.runfolder import latest_run_dir, open_run_folder, resolve_run_dir

WORKER = Path(__file__).with_name("run_worker.py")


def _run(tmp_path, *args, timeout=120):
    return subprocess.run([sys.executable, str(WORKER), str(tmp_path), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def _weights(run_dir: Path) -> list[float]:
    return json.loads((run_dir / "weights.json").read_text())


def test_new_folder_per_invocation_and_resume_by_name(tmp_path):
    root = tmp_path / "runs"
    first, resuming = resolve_run_dir(root, "pkg", "exp", None)
    assert first == root / "pkg" / "exp" and not resuming and first.is_dir()
    second, _ = resolve_run_dir(root, "pkg", "exp", None)
    third, _ = resolve_run_dir(root, "pkg", "exp", None)
    assert (second.name, third.name) == ("exp-2", "exp-3")
    assert resolve_run_dir(root, "pkg", "exp", "") == (third, True)  # latest
    assert resolve_run_dir(root, "pkg", "exp", "exp-2") == (second, True)  # by name
    assert resolve_run_dir(root, "pkg", "other", str(first)) == (first, True)  # by path
    assert latest_run_dir(root, "pkg", "exp") == third and latest_run_dir(root, "pkg", "nothing") is None
    with pytest.raises(ConfigError, match="no earlier run called 'nothing'"):
        resolve_run_dir(root, "pkg", "nothing", "")
    with pytest.raises(ConfigError, match="no such run folder"):
        resolve_run_dir(root, "pkg", "exp", "exp-9")


@pytest.mark.fault(6, "a rerun never writes into a finished run's folder")
def test_rerunning_a_finished_run_starts_a_new_folder_and_resume_refuses(tmp_path):
    a, b = _run(tmp_path, 3), _run(tmp_path, 3)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert "toy\n" in a.stdout.replace(" rank", "\n") or "/toy " in a.stdout
    assert "toy-2" in b.stdout
    record = json.loads((tmp_path / "demo" / "toy" / "run.json").read_text())
    assert record["status"] == "finished"
    again = _run(tmp_path, 3, "--resume")
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "already finished (step 3 of 3)" in again.stderr
    longer = _run(tmp_path, 5, "--resume")  # extending a finished run is what --resume is for
    assert longer.returncode == 0, longer.stderr
    assert "toy-2" in longer.stdout and "changed since the saved run: steps: 3 -> 5" in longer.stdout


def test_resume_after_a_kill_is_bit_identical(tmp_path):
    whole = _run(tmp_path / "a", 6)
    assert whole.returncode == 0, whole.stderr
    killed = _run(tmp_path / "b", 6, "--die-at", 4)
    assert killed.returncode == 9
    assert json.loads((tmp_path / "b" / "demo" / "toy" / "run.json").read_text())["status"] == "running"
    resumed = _run(tmp_path / "b", 6, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert _weights(tmp_path / "b" / "demo" / "toy") == _weights(tmp_path / "a" / "demo" / "toy")


@pytest.mark.fault(6, "a second process on the same run folder")
def test_a_second_process_on_the_same_folder_is_refused(tmp_path):
    first = _run(tmp_path, 2)
    assert first.returncode == 0
    holder = subprocess.Popen([sys.executable, str(WORKER), str(tmp_path), "4", "--resume", "--hold", "20"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        lock = tmp_path / "demo" / "toy" / ".lock"
        while time.time() < deadline and lock.read_text().strip() != str(holder.pid):
            time.sleep(0.2)
        second = _run(tmp_path, 4, "--resume")
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "in use by another process" in lines[0] and str(holder.pid) in lines[0]
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_released_on_close(tmp_path):
    folder = open_run_folder(tmp_path / "r", resuming=False)
    folder.close("finished")
    again = open_run_folder(tmp_path / "r", resuming=True)
    assert json.loads((tmp_path / "r" / "run.json").read_text())["resumed"] == 1
    again.close("failed")


@pytest.mark.fault(2, "resume with a setting that cannot change")
def test_a_change_outside_mutable_on_resume_is_refused(tmp_path):
    assert _run(tmp_path, 2).returncode == 0
    bad = _run(tmp_path, 4, "--resume", "--width", 8, "--mutable", "steps,lr")
    assert bad.returncode == 2 and "changed width (4 -> 8)" in bad.stderr
    ok = _run(tmp_path, 4, "--resume", "--lr", 0.05, "--mutable", "steps,lr")
    assert ok.returncode == 0 and "lr: 0.1 -> 0.05" in ok.stdout


@pytest.mark.ddp
def test_ranks_agree_on_one_new_folder_under_torchrun(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(WORKER),
           str(tmp_path), "3"]
    for _ in range(2):
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stderr[-2000:]
    runs = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert runs == ["toy", "toy-2"]
    assert "toy-2 rank 1" in result.stdout and "toy-2 rank 0" in result.stdout


def test_a_field_added_since_the_saved_run_at_its_default_is_no_change(tmp_path):
    from dataclasses import dataclass

    from motionkit.run import _check_config

    @dataclass
    class Cfg:
        lr: float = 0.1
        new_switch: bool = False

    (tmp_path / "config.yaml").write_text("lr: 0.1\nold_field: 3\n")
    assert _check_config(Cfg(), tmp_path, True, {"lr"}) == {}
    with pytest.raises(ConfigError, match="changed new_switch"):
        _check_config(Cfg(new_switch=True), tmp_path, True, {"lr"})


@pytest.mark.fault(7, "a .tmp file left by a writer killed mid-write")
def test_stale_tmp_files_of_a_killed_writer_are_removed_on_resume(tmp_path):
    from motionkit.runfolder import open_run_folder, resolve_run_dir

    folder, resuming = resolve_run_dir(tmp_path, "demo", "toy", None)
    open_run_folder(folder, resuming).close("failed")
    (folder / "checkpoints").mkdir()
    for stale in (folder / ".last.pt.tmp", folder / "checkpoints" / ".step-3.pt.tmp"):
        stale.write_bytes(b"half a checkpoint")
    again, resuming = resolve_run_dir(tmp_path, "demo", "toy", "")
    run = open_run_folder(again, resuming)
    try:
        assert again == folder and resuming
        assert sorted(folder.rglob("*.tmp")) == []
    finally:
        run.close("finished")


@pytest.mark.fault(6, "--resume naming a folder that is not a run folder")
def test_resume_of_a_folder_that_is_no_run_folder_writes_nothing_into_it(tmp_path):
    from motionkit.errors import ConfigError
    from motionkit.runfolder import resolve_run_dir

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "tiny.yaml").write_text("lr: 0.1\n")
    with pytest.raises(ConfigError, match="configs is not a run folder"):
        resolve_run_dir(tmp_path / "runs", "demo", "toy", str(configs))
    assert sorted(p.name for p in configs.iterdir()) == ["tiny.yaml"]


@pytest.mark.fault(3, "a run name that is a path")
@pytest.mark.parametrize("name", ["../escape", "a/b", "..", ".hidden", "", " "])
def test_a_run_name_that_is_a_path_is_one_line(tmp_path, name):
    from motionkit.errors import ConfigError
    from motionkit.runfolder import resolve_run_dir

    with pytest.raises(ConfigError, match="must be a plain folder name"):
        resolve_run_dir(tmp_path / "runs", "demo", name, None)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "escape").exists()


@pytest.mark.fault(7, "a refused --resume of a finished run")
def test_a_refused_resume_leaves_the_run_record_as_it_was(tmp_path):
    from dataclasses import dataclass

    from motionkit.errors import ConfigError
    from motionkit.run import start_run

    @dataclass
    class Toy:
        lr: float = 0.1

    def attempt(resume, refuse=False):
        with start_run(Toy(), package="demo", run_name="toy", log_root=tmp_path, resume=resume, device="cpu") as run:
            if refuse:
                run.check_not_finished(3, 3)
            run.checkpointer.save(3, {"net": torch.nn.Linear(2, 2)})

    attempt(None)
    record = json.loads((tmp_path / "demo" / "toy" / "run.json").read_text())
    with pytest.raises(ConfigError, match="already finished"):
        attempt("", refuse=True)
    after = json.loads((tmp_path / "demo" / "toy" / "run.json").read_text())
    assert after["status"] == "finished" and after["ended"] == record["ended"]
    assert after["last_attempt"]["status"] == "failed"


@pytest.mark.fault(3, "a seed torch and numpy cannot take")
def test_a_seed_out_of_range_is_one_line_before_any_folder(tmp_path):
    from dataclasses import dataclass

    from motionkit.errors import ConfigError
    from motionkit.run import start_run

    @dataclass
    class Toy:
        lr: float = 0.1

    with pytest.raises(ConfigError, match="--seed 99999999999999999999999: out of range"):
        with start_run(Toy(), package="demo", run_name="toy", log_root=tmp_path, seed=99999999999999999999999):
            pass
    assert not (tmp_path / "demo").exists()


@pytest.mark.fault(7, "temporaries of killed writers beside a data file")
def test_stale_temporaries_of_dead_writers_go_live_ones_stay(tmp_path):
    import os

    from motionkit.tempfiles import remove_stale_temporaries

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    (tmp_path / f".set.h5.{dead_pid}.tmp").write_bytes(b"half")
    (tmp_path / f".set.h5.{dead_pid}.old.tmp").mkdir()
    (tmp_path / f".set.h5.{os.getpid()}.tmp").write_bytes(b"being written")
    (tmp_path / ".other.h5.1.tmp").write_bytes(b"another target's")
    remove_stale_temporaries(tmp_path / "set.h5")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.h5.1.tmp", f".set.h5.{os.getpid()}.tmp"]
