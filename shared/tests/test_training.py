"""Seeding, atomic checkpoints (a write killed midway leaves the previous one intact) and exact resume."""

import subprocess
import sys
import textwrap

import pytest
import torch

from motionkit.errors import CheckpointError, NonFiniteLossError
from motionkit.training import Checkpointer, RunLogger, check_finite, load_checkpoint, save_checkpoint, seed_everything


def test_killed_write_leaves_previous_checkpoint_intact(tmp_path):
    target = tmp_path / "last.pt"
    script = textwrap.dedent(f"""
        import os, torch
        from motionkit.training import save_checkpoint

        class Bomb:
            # pickled after the big tensor's record: the process dies half-way through writing the new file
            def __reduce__(self):
                os._exit(9)

        save_checkpoint({str(target)!r}, {{"step": 1, "w": torch.ones(10)}})
        save_checkpoint({str(target)!r}, {{"step": 2, "w": torch.zeros(1_000_000), "bomb": Bomb()}})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 9, result.stderr
    state = load_checkpoint(target)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(10))
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last.pt"]
    assert all(name.endswith(".tmp") for name in leftovers)  # only the dead temp file, never a torn target


def test_missing_and_corrupt_checkpoints_are_one_line(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(bad)
    assert "bad.pt" in str(info.value) and "\n" not in str(info.value)


def _train(run_dir, total_steps, stop_at=None):
    """A tiny regression trained on random batches drawn from the global RNG, checkpointing every 3 steps."""
    seed_everything(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    ckpt = Checkpointer(run_dir)
    step, _ = ckpt.resume({"model": model, "opt": opt})
    while step < total_steps:
        x = torch.randn(16, 4)
        loss = ((model(x) - x.sum(1, keepdim=True)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 3 == 0:
            ckpt.save(step, {"model": model, "opt": opt})
        if stop_at is not None and step == stop_at:
            return model  # "killed" after step 7: the last checkpoint is step 6
    return model


def test_resume_matches_an_uninterrupted_run(tmp_path):
    straight = _train(tmp_path / "a", 12)
    _train(tmp_path / "b", 12, stop_at=7)
    resumed = _train(tmp_path / "b", 12)
    for p, q in zip(straight.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    assert sorted(p.name for p in (tmp_path / "b").glob("ckpt_*.pt")) == ["ckpt_00000009.pt", "ckpt_00000012.pt"]


def test_resume_into_a_different_model_is_one_line(tmp_path):
    ckpt = Checkpointer(tmp_path)
    ckpt.save(1, {"model": torch.nn.Linear(2, 2)})
    with pytest.raises(CheckpointError, match="'model' does not fit"):
        ckpt.resume({"model": torch.nn.Linear(3, 2)})
    with pytest.raises(CheckpointError, match="no state for 'opt'"):
        ckpt.resume({"opt": torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=1)})


def test_check_finite():
    check_finite({"a": torch.tensor(1.0), "b": 2.0}, step=3)
    with pytest.raises(NonFiniteLossError, match="'b' is nan at step 3"):
        check_finite({"a": 1.0, "b": torch.tensor(float("nan"))}, step=3)


def test_run_logger_history_and_truncate(tmp_path):
    log = RunLogger(tmp_path, use_tensorboard=True)
    for s in range(5):
        log.log(s, loss=1.0 / (s + 1))
    log.truncate_after(2)
    assert [s for s, _ in log.history()["loss"]] == [0, 1, 2]
    log.close()
    assert any((tmp_path / "tb").iterdir())


def test_save_checkpoint_creates_folders(tmp_path):
    path = save_checkpoint(tmp_path / "x" / "y.pt", {"step": 0})
    assert load_checkpoint(path)["step"] == 0


def test_resolve_device():
    import torch

    from motionkit.errors import ConfigError
    from motionkit.training.device import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("") == resolve_device("auto") == resolve_device(None)
    with pytest.raises(ConfigError, match="'gpu7'"):
        resolve_device("gpu7")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="'meta' is not supported"):
        resolve_device("meta")  # holds no data: every run would fail later
    if not torch.backends.mps.is_available():
        with pytest.raises(ConfigError, match="MPS is not available"):
            resolve_device("mps")


def test_keep_last_none_keeps_every_checkpoint(tmp_path):
    import torch

    from motionkit.training import Checkpointer

    net = torch.nn.Linear(2, 2)
    for keep, want in ((None, 4), (0, 4), (2, 2)):
        folder = tmp_path / str(keep)
        ckpt = Checkpointer(folder, keep_last=keep)
        for step in range(1, 5):
            ckpt.save(step, {"net": net})
        assert len(list(folder.glob("ckpt_*.pt"))) == want


def test_diverged_tensor_finds_nan_inf_and_exploded_weights_but_not_large_adam_moments():
    import torch

    from motionkit.training.divergence import diverged_tensor

    net = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(4, 3)).sum().backward()
    opt.step()
    assert diverged_tensor({"net": net, "opt": opt}) is None
    opt.state[net[0].weight]["exp_avg_sq"].fill_(1e30)  # large second moments are not divergence
    assert diverged_tensor({"net": net, "opt": opt}) is None
    net[1].running_var.fill_(1e20)  # a buffer beyond the limit is
    assert diverged_tensor({"net": net}) == ("net.1.running_var", pytest.approx(1e20, rel=1e-6))
    net[1].running_var.fill_(1.0)
    with torch.no_grad():
        net[0].bias[1] = float("nan")
    where, worst = diverged_tensor({"net": net})
    assert where == "net.0.bias" and worst != worst
    assert diverged_tensor({"net": net.state_dict()}, limit=10)[0] == "net.0.bias"
    opt.state[net[0].weight]["exp_avg"].fill_(float("inf"))
    assert diverged_tensor({"opt": opt}) == ("opt.exp_avg[0]", float("inf"))
