"""motionkit's share of the fault classes: checkpoints that diverged, were damaged or could not be written;
configs in the wrong encoding or a folder in their place; the CLI error boundary; downloads that are not what
they claim."""

from __future__ import annotations

import http.server
import io
import shutil
import threading
import zipfile
from pathlib import Path

import pytest
import torch

from motionkit.config import load_config
from motionkit.datasets.download import fetch, fetch_file, git_blob_sha1_of
from motionkit.datasets.registry import DatasetFile, DatasetSpec, register
from motionkit.errors import CheckpointError, ChecksumError, ConfigError, DownloadError, NonFiniteLossError, run_cli
from motionkit.faults import assert_one_line_error, flip_bytes, limit_file_size, truncate, write_non_utf8
from motionkit.training import Checkpointer, load_checkpoint, save_checkpoint


def _state(step, value=1.0):
    net = torch.nn.Linear(50, 50)
    torch.nn.init.constant_(net.weight, value)
    return net, {"step": step, "modules": {"net": net.state_dict()}}


@pytest.mark.parametrize("value, words", [(float("nan"), "is not finite"), (float("inf"), "is not finite"),
                                          (1e30, "exploded")])
@pytest.mark.fault(1, "a NaN, inf or exploded state is never written")
def test_a_diverged_state_is_never_written(tmp_path, value, words):
    net, good = _state(1)
    save_checkpoint(tmp_path / "last.pt", good)
    _, bad = _state(2, value)
    with pytest.raises(NonFiniteLossError, match=f"net.weight {words}.* at step 2"):
        save_checkpoint(tmp_path / "last.pt", bad)
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 1
    assert list(tmp_path.glob(".*.tmp")) == []


@pytest.mark.fault(1, "non-finite optimizer moments are never written")
def test_non_finite_optimizer_moments_are_refused(tmp_path):
    net = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 2)).sum().backward()
    opt.step()
    opt.state[net.weight]["exp_avg_sq"].fill_(float("inf"))
    with pytest.raises(NonFiniteLossError, match="optimizer"):
        Checkpointer(tmp_path).save(1, {"net": net, "optimizer": opt})


@pytest.mark.fault(4, "a damaged checkpoint")
@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_checkpoints_are_one_line(tmp_path, damage):
    _, state = _state(1)
    path = save_checkpoint(tmp_path / "last.pt", state)
    flip_bytes(path, 100) if damage == "flip" else truncate(path, 0.6)
    with pytest.raises(CheckpointError, match="last.pt: (damaged checkpoint|not a readable checkpoint)"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="is a folder"):
        load_checkpoint(tmp_path)


@pytest.mark.fault(4, "disk full while writing a checkpoint")
def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path):
    import subprocess
    import sys

    _, state = _state(1)
    save_checkpoint(tmp_path / "last.pt", state)
    code = ("import torch; from motionkit.errors import run_cli; from motionkit.training import save_checkpoint\n"
            "def main(argv):\n"
            f"    save_checkpoint({str(tmp_path / 'last.pt')!r}, {{'step': 2, 'modules': "
            "{'w': {'x': torch.zeros(100000)}}})\n"
            "raise SystemExit(run_cli(main, []))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            preexec_fn=limit_file_size(20000))
    assert_one_line_error(result, "cannot write", "previous checkpoint is intact")
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 1
    assert list(tmp_path.glob(".*.tmp")) == []


@pytest.mark.fault(4, "a config that cannot be read")
@pytest.mark.parametrize("damage", ["utf-16", "folder"])
def test_configs_in_the_wrong_encoding_or_a_folder(tmp_path, damage):
    from dataclasses import dataclass

    @dataclass
    class C:
        lr: float = 0.1

    if damage == "utf-16":
        write_non_utf8(tmp_path / "c.yaml")
        with pytest.raises(ConfigError, match="c.yaml: not UTF-8"):
            load_config(C, tmp_path / "c.yaml")
    else:
        with pytest.raises(ConfigError, match="is a folder"):
            load_config(C, tmp_path)


@pytest.mark.fault(4, "an I/O failure and a bug at the CLI boundary")
def test_the_cli_error_boundary(capsys):
    def io_failure(argv):
        open("/nonexistent/folder/file.txt")

    def bug(argv):
        raise KeyError("boom")

    def disk_full(argv):
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")

    assert run_cli(io_failure, []) == 2
    assert capsys.readouterr().err.strip() == "error: /nonexistent/folder/file.txt: No such file or directory"
    assert run_cli(disk_full, []) == 2
    assert capsys.readouterr().err.strip() == "error: No space left on device (is the disk full?)"

    def huge(argv):
        torch.empty(2**62, dtype=torch.uint8)  # torch: RuntimeError ... can't allocate memory

    assert run_cli(huge, []) == 2
    assert capsys.readouterr().err.strip().startswith("error: out of memory (use a smaller batch size")
    assert run_cli(bug, []) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: internal error: KeyError") and "--debug" in err and "\n" not in err
    with pytest.raises(KeyError):
        run_cli(bug, ["--debug"])
    seen = []
    run_cli(lambda argv: seen.append(argv), ["--a", "--debug", "b"])
    assert seen == [["--a", "b"]]


class _Server:
    """Serves ``files`` (name -> bytes) on localhost; ``files`` can change between requests."""

    def __init__(self, files):
        self.files = files
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = outer.files.get(self.path.lstrip("/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()


@pytest.mark.fault(5, "a download whose git blob id differs")
def test_git_blob_sha1_verification(tmp_path):
    payload = b"released weights\n"
    (tmp_path / "w.bin").write_bytes(payload)
    blob = git_blob_sha1_of(tmp_path / "w.bin")
    import hashlib

    assert blob == hashlib.sha1(b"blob %d\0" % len(payload) + payload).hexdigest()
    server = _Server({"w.bin": payload})
    try:
        got = fetch_file(f"{server.url}/w.bin", None, tmp_path / "cache", "w.bin", git_sha1=blob)
        assert got.read_bytes() == payload
        server.files["x.bin"] = b"tampered"
        with pytest.raises(ChecksumError, match="git blob SHA-1 mismatch"):
            fetch_file(f"{server.url}/x.bin", None, tmp_path / "cache", "x.bin", git_sha1=blob)
        assert not (tmp_path / "cache" / "x.bin").exists()
    finally:
        server.close()


@pytest.mark.fault(5, "an HTML page served instead of the archive")
def test_an_html_page_instead_of_the_archive_is_not_kept(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("data/a.txt", "hello\n")
    server = _Server({"set.zip": b"<html>rate limited</html>"})
    register(DatasetSpec(name="fault-demo", description="", homepage="", licence="", redistributable=False,
                         files=(DatasetFile(f"{server.url}/set.zip", None, "set.zip", extract=True),),
                         manifest={"data/a.txt": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}),
             replace=True)
    try:
        with pytest.raises(DownloadError, match="not a readable archive.*deleted it"):
            fetch("fault-demo", tmp_path / "c")
        assert not (tmp_path / "c" / "set.zip").exists()
        server.files["set.zip"] = buffer.getvalue()  # the server is fixed: the next fetch just works
        assert (fetch("fault-demo", tmp_path / "c") / "data" / "a.txt").read_text() == "hello\n"
    finally:
        server.close()
        shutil.rmtree(tmp_path / "c", ignore_errors=True)
    assert Path(tmp_path).is_dir()


@pytest.mark.fault(4, "a checkpoint cut before its zip directory")
def test_a_checkpoint_cut_before_its_zip_directory_says_truncated(tmp_path):
    _, state = _state(1)
    path = save_checkpoint(tmp_path / "last.pt", state)
    data = path.read_bytes()
    path.write_bytes(data[: data.rfind(b"PK\x01\x02") - 10])  # every record's data, none of the directory
    with pytest.raises(CheckpointError, match="last.pt: damaged checkpoint \\(truncated"):
        load_checkpoint(path)


@pytest.mark.fault(7, "a diverged state before any checkpoint exists")
def test_a_diverged_first_state_does_not_claim_an_intact_checkpoint(tmp_path):
    _, bad = _state(1, float("nan"))
    with pytest.raises(NonFiniteLossError, match="no earlier checkpoint exists"):
        save_checkpoint(tmp_path / "last.pt", bad)


@pytest.mark.fault(4, "an error raised in a DataLoader worker")
def test_an_error_from_a_dataloader_worker_stays_one_line(capsys):
    from motionkit.errors import DataFormatError

    class Broken(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            raise DataFormatError(f"frame_{i}.png: not an image")

    def main(argv):
        next(iter(torch.utils.data.DataLoader(Broken(), num_workers=1)))

    assert run_cli(main, []) == 2
    assert capsys.readouterr().err.strip() == "error: frame_0.png: not an image"


@pytest.mark.fault(7, "an error line after a progress bar")
def test_closing_the_logger_ends_its_progress_bars(tmp_path, monkeypatch):
    from motionkit.training import RunLogger

    monkeypatch.setenv("TQDM_DISABLE", "1")
    logger = RunLogger(tmp_path, use_tensorboard=False)
    assert logger.progress(10).disable  # TQDM_DISABLE is honoured
    monkeypatch.delenv("TQDM_DISABLE")
    bar = logger.progress(10)
    bar.update(3)
    assert not bar.disable
    logger.close()  # start_run closes the logger before the CLI prints its error line
    assert bar.disable  # tqdm marks a closed bar disabled: it draws nothing more


@pytest.mark.fault(7, "disk full at a run's first checkpoint")
def test_a_full_disk_at_the_first_checkpoint_does_not_claim_an_earlier_one(tmp_path):
    import subprocess
    import sys

    code = ("import torch; from motionkit.errors import run_cli; from motionkit.training import save_checkpoint\n"
            "def main(argv):\n"
            f"    save_checkpoint({str(tmp_path / 'last.pt')!r}, {{'step': 1, 'modules': "
            "{'w': {'x': torch.zeros(100000)}}})\n"
            "raise SystemExit(run_cli(main, []))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            preexec_fn=limit_file_size(20000))
    line = assert_one_line_error(result, "cannot write", "no earlier checkpoint exists")
    assert "intact" not in line and sorted(tmp_path.iterdir()) == []


@pytest.mark.fault(4, "a folder where the checkpoint is to be written")
def test_a_folder_in_place_of_the_checkpoint_to_write_is_named_as_such(tmp_path):
    (tmp_path / "last.pt").mkdir()
    _, state = _state(1)
    with pytest.raises(CheckpointError, match="last.pt: is a folder") as info:
        save_checkpoint(tmp_path / "last.pt", state)
    assert "disk full" not in str(info.value)


@pytest.mark.fault(7, "killed between writing ckpt_N.pt and last.pt")
def test_resume_without_last_pt_continues_from_the_newest_numbered_checkpoint(tmp_path):
    net, _ = _state(1)
    Checkpointer(tmp_path).save(3, {"net": net})
    (tmp_path / "last.pt").unlink()
    other = torch.nn.Linear(50, 50)
    assert Checkpointer(tmp_path).resume({"net": other})[0] == 3  # not a silent restart from step 0
    assert torch.equal(other.weight, net.weight)


@pytest.mark.fault(7, "metrics.jsonl with a last line cut by a kill")
@pytest.mark.parametrize("where", ["last", "middle"])
def test_a_metrics_log_cut_by_a_kill(tmp_path, where):
    from motionkit.errors import DataFormatError
    from motionkit.training import RunLogger

    logger = RunLogger(tmp_path, use_tensorboard=False)
    for step in (1, 2, 3):
        logger.log(step, loss=1.0 / step)
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    if where == "last":  # killed while appending step 3: its half line is dropped and logged again
        (tmp_path / "metrics.jsonl").write_text("\n".join(lines[:2] + [lines[2][:9]]) + "\n")
        logger.truncate_after(2)
        assert [r["step"] for r in logger._rows()] == [1, 2]
    else:
        (tmp_path / "metrics.jsonl").write_text("\n".join([lines[0], "garbage", lines[2]]) + "\n")
        with pytest.raises(DataFormatError, match="metrics.jsonl: line 2 is not a metrics row"):
            logger.truncate_after(2)


def _run_toy(log_root, lr, resume, fail=False):
    from dataclasses import dataclass

    from motionkit.run import start_run

    @dataclass
    class Toy:
        lr: float = 0.1

    with start_run(Toy(lr), package="demo", run_name="toy", log_root=log_root, resume=resume, device="cpu") as run:
        net = torch.nn.Linear(2, 2)
        if fail:
            raise NonFiniteLossError("loss is nan at step 1")
        run.checkpointer.save(1, {"net": net})


@pytest.mark.fault(2, "a resume with a new lr that diverges before its first checkpoint")
def test_a_failed_resume_puts_the_saved_record_back(tmp_path):
    _run_toy(tmp_path, 0.1, None)
    record = tmp_path / "demo" / "toy" / "config.yaml"
    before = record.read_text()
    with pytest.raises(NonFiniteLossError):
        _run_toy(tmp_path, 1e30, "", fail=True)
    assert record.read_text() == before  # the record matches last.pt's weights, not the failed attempt
    _run_toy(tmp_path, 0.05, "")
    assert "lr: 0.05" in record.read_text()  # a resume that writes a checkpoint keeps its new settings


@pytest.mark.fault(4, "a saved run config that cannot be compared")
@pytest.mark.parametrize("damage, problem", [("utf-16", "not UTF-8"), ("empty", "empty, it holds no settings")])
def test_resume_with_a_damaged_saved_config_names_it(tmp_path, damage, problem):
    _run_toy(tmp_path, 0.1, None)
    saved = tmp_path / "demo" / "toy" / "config.yaml"
    write_non_utf8(saved, "lr: 0.1\n") if damage == "utf-16" else saved.write_text("")
    with pytest.raises(ConfigError, match=f"toy/config.yaml: {problem}"):
        _run_toy(tmp_path, 0.1, "")
