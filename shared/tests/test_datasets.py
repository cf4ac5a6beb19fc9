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
    cut_after: int | None = None  # when set, the connection drops after this many bytes of the body

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
        cut = type(self).cut_after
        self.wfile.write(body if cut is None else body[:cut])
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.ranges = []
    _Handler.cut_after = None
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


@pytest.mark.fault(5, "a download whose SHA-256 differs")
def test_checksum_mismatch_is_refused_in_one_line(server, tmp_path):
    with pytest.raises(ChecksumError) as info:
        datasets.fetch_file(f"{server}/data.bin", "0" * 64, tmp_path, "data.bin")
    assert "\n" not in str(info.value) and "data.bin" in str(info.value)
    assert not (tmp_path / "data.bin").exists() and not (tmp_path / "data.bin.part").exists()


@pytest.mark.fault(5, "an unreachable server")
def test_unreachable_url_is_one_line(tmp_path):
    with pytest.raises(DownloadError) as info:
        datasets.fetch_file("http://127.0.0.1:9/data.bin", DIGEST, tmp_path, "data.bin")
    assert "\n" not in str(info.value) and "127.0.0.1:9" in str(info.value)


@pytest.mark.fault(5, "an HTTP error")
def test_http_error_is_one_line(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        datasets.fetch_file(f"{server}/missing.bin", DIGEST, tmp_path, "missing.bin")
    assert "partial data" not in str(info.value)  # nothing was kept, so nothing is claimed


@pytest.mark.fault(5, "a download cut mid-way")
def test_a_cut_download_is_one_line_and_the_next_fetch_resumes_it(server, tmp_path):
    _Handler.cut_after = 100_000
    with pytest.raises(DownloadError, match="download failed.*partial data kept in data.bin.part") as info:
        datasets.fetch_file(f"{server}/data.bin", DIGEST, tmp_path, "data.bin")
    assert "\n" not in str(info.value) and not (tmp_path / "data.bin").exists()
    kept = (tmp_path / "data.bin.part").stat().st_size
    assert 0 < kept <= 100_000 and (tmp_path / "data.bin.part").read_bytes() == PAYLOAD[:kept]
    _Handler.cut_after = None  # the connection is back: the next call continues where the cut left off
    assert datasets.fetch_file(f"{server}/data.bin", DIGEST, tmp_path, "data.bin").read_bytes() == PAYLOAD
    assert _Handler.ranges[-1] == f"bytes={kept}-" and not (tmp_path / "data.bin.part").exists()


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


@pytest.mark.fault(5, "a cached data set changed after it was verified")
def test_a_changed_cached_set_says_what_to_delete(tmp_path):
    import zipfile

    zpath = tmp_path / "set.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("a.txt", "hello\n")
    datasets.register(datasets.DatasetSpec(
        name="test-set-changed", description="", homepage="", licence="test", redistributable=True,
        files=(datasets.DatasetFile(zpath.as_uri(), None, "set.zip", extract=True),),
        manifest={"a.txt": hashlib.sha256(b"hello\n").hexdigest()}), replace=True)
    root = datasets.fetch("test-set-changed", cache_dir=tmp_path / "cache")
    (root / "a.txt").write_text("edited by hand\n")
    expected = f"a.txt: SHA-256 differs.*copy in {tmp_path / 'cache'} was changed.*delete that folder"
    with pytest.raises(ChecksumError, match=expected) as info:
        datasets.fetch("test-set-changed", cache_dir=tmp_path / "cache")
    assert "\n" not in str(info.value)


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
