"""The original's released models by name: downloaded from a local HTTP server, verified by git blob SHA-1."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import shutil
import subprocess
import threading

import pytest
from deepnag_testutils import write_original_checkpoint

from deepnag import original_models
from deepnag.models import load_generator
from motionkit.datasets import get_spec, registry
from motionkit.datasets.download import git_blob_sha1_of
from motionkit.errors import ChecksumError, ConfigError


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's id of the empty file (`git hash-object /dev/null`)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/www laid out like the original repository's pretrained_models/."""
    root = tmp_path / "www"
    (root / "pretrained_models" / "DeepNAG" / "dollar-gds").mkdir(parents=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_git_blob_sha1_is_what_git_computes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello\x00world\n" * 1000)
    if shutil.which("git"):
        expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True).stdout.strip()
        assert git_blob_sha1_of(path) == expected
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert git_blob_sha1_of(empty) == EMPTY_BLOB


def test_the_four_models_are_registered():
    for name, sha1 in original_models.ORIGINAL_MODELS.items():
        spec = get_spec("deepnag-original/" + name)
        assert spec.files[0].git_sha1 == sha1
        assert spec.files[0].url.endswith(f"/pretrained_models/{name}/checkpoint-best.tar")
        assert original_models.ORIGINAL_COMMIT in spec.files[0].url


@pytest.mark.fault(5, "an altered released model on the server: refused and not kept in the cache")
def test_download_verified_good_file_accepted_altered_refused(tmp_path, server, monkeypatch):
    root, url = server
    served = root / "pretrained_models" / "DeepNAG" / "dollar-gds" / "checkpoint-best.tar"
    write_original_checkpoint(served)
    good = git_blob_sha1_of(served)
    monkeypatch.setenv("DEEPNAG_ORIGINAL_URL", url)
    monkeypatch.setenv("MOTIONZOO_DATA", str(tmp_path / "cache"))
    spec = get_spec("deepnag-original/DeepNAG/dollar-gds")
    good_spec = dataclasses.replace(spec, files=(dataclasses.replace(spec.files[0], git_sha1=good),))
    monkeypatch.setitem(registry._REGISTRY, spec.name, good_spec)

    G, extra = load_generator("original:DeepNAG/dollar-gds")  # downloads, verifies, converts
    assert extra["config"]["dataset"] == "dollar-gds"
    cached = tmp_path / "cache" / "deepnag-original" / "DeepNAG" / "dollar-gds" / "checkpoint-best.tar"
    assert cached.is_file()

    # an altered file on the server (and no good copy in the cache) is refused and not kept
    cached.unlink()
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF
    served.write_bytes(bytes(data))
    with pytest.raises(ChecksumError) as err:
        original_models.fetch_original_model("DeepNAG/dollar-gds")
    assert "\n" not in str(err.value) and "git blob SHA-1 mismatch" in str(err.value)
    assert not cached.exists()


@pytest.mark.fault(3, "an unknown released-model name")
def test_unknown_name_is_one_line():
    with pytest.raises(ConfigError, match="original:DeepNAG/foo: unknown released model"):
        load_generator("original:DeepNAG/foo")
