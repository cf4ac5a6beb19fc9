"""The downloader against a real local HTTP server (with Range support), and file:// URLs."""

import hashlib
import http.server
import os
import threading

import pytest

from motionkit import datasets
from motionkit.errors import ChecksumError, DatasetMissingError, DownloadError

PAYLOAD = os.urandom(300_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD at /data.bin, honouring 'Range: bytes=N-'; records the ranges it was asked for."""

    ranges: list = []

    def do_GET(self):  # noqa: N802
        if self.path != "/data.bin":
            self.send_error(404)
            return
        start = 0
        header = self.headers.get("Range")
        type(self).ranges.append(header)
        if header:
            start = int(header.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.ranges = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_good_file_is_downloaded_verified_and_cached(server, tmp_path):
    path = datasets.fetch_file(f"{server}/data.bin", DIGEST, tmp_path, "data.bin")
    assert path.read_bytes() == PAYLOAD
    assert _Handler.ranges == [None]
    datasets.fetch_file(f"{server}/data.bin", DIGEST, tmp_path, "data.bin")  # cached: no second request
    assert _Handler.ranges == [None]


def test_partial_file_is_resumed_with_a_range_request(server, tmp_path):
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:123_456])
    path = datasets.fetch_file(f"{server}/data.bin", DIGEST, tmp_path, "data.bin")
    assert path.read_bytes() == PAYLOAD
    assert _Handler.ranges == ["bytes=123456-"]
    assert not (tmp_path / "data.bin.part").exists()


def test_checksum_mismatch_is_refused_in_one_line(server, tmp_path):
    with pytest.raises(ChecksumError) as info:
        datasets.fetch_file(f"{server}/data.bin", "0" * 64, tmp_path, "data.bin")
    assert "\n" not in str(info.value) and "data.bin" in str(info.value)
    assert not (tmp_path / "data.bin").exists() and not (tmp_path / "data.bin.part").exists()


def test_unreachable_url_is_one_line(tmp_path):
    with pytest.raises(DownloadError) as info:
        datasets.fetch_file("http://127.0.0.1:9/data.bin", DIGEST, tmp_path, "data.bin")
    assert "\n" not in str(info.value) and "127.0.0.1:9" in str(info.value)


def test_http_error_is_one_line(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        datasets.fetch_file(f"{server}/missing.bin", DIGEST, tmp_path, "missing.bin")


def test_file_url_and_mismatch(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    out = datasets.fetch_file(src.as_uri(), DIGEST, tmp_path / "cache", "copy.bin")
    assert out.read_bytes() == PAYLOAD
    with pytest.raises(ChecksumError, match="src.bin"):
        datasets.fetch_file(src.as_uri(), "1" * 64, tmp_path / "cache2", "copy.bin")


def test_fetch_registered_archive_extracts_and_checks_manifest(tmp_path):
    import zipfile

    zpath = tmp_path / "set.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("data/a.txt", "hello\r\n")
    manifest = {"a.txt": hashlib.sha256(b"hello\n").hexdigest()}
    spec = datasets.DatasetSpec(
        name="test-set", description="", homepage="", licence="test", redistributable=True,
        files=(datasets.DatasetFile(zpath.as_uri(), datasets.sha256_of(zpath), "set.zip", extract=True),),
        how_to_get="made by the test",
        manifest=manifest, subdir="data", normalize_newlines=True,
    )
    datasets.register(spec, replace=True)
    root = datasets.fetch("test-set", cache_dir=tmp_path / "cache")
    assert (root / "a.txt").read_bytes() == b"hello\r\n"
    (root / "a.txt").write_text("tampered\n")
    with pytest.raises(ChecksumError, match="a.txt"):
        datasets.verify_manifest(root, manifest, normalize_newlines=True)


def test_registered_readers_and_missing_files(tmp_path):
    def read(root):
        return sorted(p.name for p in root.iterdir())

    spec = datasets.DatasetSpec(
        name="licensed-set", description="needs registration", homepage="http://example.invalid",
        licence="academic", redistributable=False, files=(datasets.DatasetFile("", None, "poses.npz"),),
        loader=read, how_to_get="register at example.invalid, then pass the folder as --data-root")
    datasets.register(spec, replace=True)
    assert "licensed-set" in datasets.list_datasets()
    assert datasets.load_function("licensed-set") is read
    datasets.register(datasets.DatasetSpec(name="named-reader", description="", homepage="", licence="",
                                           redistributable=False, loader="motionkit.metrics:mpjpe"), replace=True)
    assert datasets.load_function("named-reader").__name__ == "mpjpe"
    with pytest.raises(DatasetMissingError, match="poses.npz.*register at example.invalid"):
        datasets.require_files(tmp_path, ["poses.npz"], "licensed-set")
    with pytest.raises(DatasetMissingError, match="cannot be downloaded automatically"):
        datasets.fetch("licensed-set", cache_dir=tmp_path)
