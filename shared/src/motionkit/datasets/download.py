"""Checksum-verified, resumable downloads into the data cache (pooch does the fetching).

The cache lives in ``$MOTIONZOO_DATA`` when set, else in the repository's ``datasets/cache/`` (git-ignored)
when running from a checkout, else in ``~/.cache/motionzoo``. A download in progress is kept as
``<file>.part``; a later call continues it with an HTTP Range request. A file whose SHA-256 differs from the
registered one is refused with a one-line :class:`~motionkit.errors.ChecksumError` and not kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from motionkit.errors import ChecksumError, DatasetMissingError, DownloadError

__all__ = [
    "default_cache_dir", "sha256_of", "git_blob_sha1_of", "fetch_file", "fetch", "verify_manifest", "require_files",
    "make_manifest",
]

_CHUNK = 1 << 20
_STREAM_CHUNK = 1 << 16  # written to <file>.part as it arrives: a cut connection loses at most this much


def default_cache_dir() -> Path:
    """Where downloads are cached (see the module docstring)."""
    env = os.environ.get("MOTIONZOO_DATA")
    if env:
        return Path(env).expanduser()
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            if (folder / "datasets").is_dir() and (folder / "shared" / "src" / "motionkit").is_dir():
                return folder / "datasets" / "cache"
    return Path.home() / ".cache" / "motionzoo"


def sha256_of(path: str | Path, normalize_newlines: bool = False) -> str:
    """Hex SHA-256 of a file; with ``normalize_newlines`` CRLF is read as LF first (for text data sets that
    circulate with either line ending)."""
    if normalize_newlines:
        return hashlib.sha256(Path(path).read_bytes().replace(b"\r\n", b"\n")).hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_blob_sha1_of(path: str | Path) -> str:
    """The git blob SHA-1 of a file (``sha1(b"blob <size>\\0" + content)``), the id GitHub shows for a file: lets
    files published in a git repository be verified without a separate checksum."""
    path = Path(path)
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _verified(path: Path, sha256: str | None, git_sha1: str | None) -> bool:
    if sha256 and sha256_of(path) != sha256.lower():
        return False
    return not (git_sha1 and git_blob_sha1_of(path) != git_sha1.lower())


class _ResumableHTTPDownloader:
    """A pooch downloader that keeps partial data in ``<dest>.part`` and resumes it with a Range request."""

    def __init__(self, part_path: Path, timeout: float = 30.0) -> None:
        self.part_path = part_path
        self.timeout = timeout

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False) -> bool | None:
        import requests

        if check_only:
            return requests.head(url, timeout=self.timeout, allow_redirects=True).status_code == 200
        have = self.part_path.stat().st_size if self.part_path.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
            if response.status_code == 416:  # the part file is already complete
                pass
            else:
                response.raise_for_status()
                mode = "ab" if have and response.status_code == 206 else "wb"
                with open(self.part_path, mode) as part:
                    for chunk in response.iter_content(chunk_size=_STREAM_CHUNK):
                        part.write(chunk)
        if isinstance(output_file, str | Path):
            shutil.copyfile(self.part_path, output_file)
        else:
            with open(self.part_path, "rb") as src:
                shutil.copyfileobj(src, output_file)
        return None


def _fetch_local(url: str, sha256: str | None, dest: Path) -> Path:
    src = Path(unquote(urlparse(url).path))
    if not src.is_file():
        raise DownloadError(f"{url}: no such file")
    if sha256 and sha256_of(src) != sha256.lower():
        raise ChecksumError(f"{src}: SHA-256 mismatch (expected {sha256[:12]}..., got {sha256_of(src)[:12]}...)")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)
    return dest


def fetch_file(url: str, sha256: str | None, dest_dir: str | Path, filename: str,
               git_sha1: str | None = None) -> Path:
    """Download ``url`` to ``dest_dir/filename`` unless a verified copy is already there; return its path.

    ``file://`` URLs are copied; ``http(s)://`` URLs go through pooch with a resumable downloader. The file is
    checked against ``sha256`` and/or ``git_sha1`` (its git blob id) when given. Raises :class:`ChecksumError`
    on a mismatch (the bad file is deleted, so the next call starts over) and :class:`DownloadError` when the
    URL cannot be reached.
    """
    import pooch
    import requests

    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / filename
    if dest.exists():
        if _verified(dest, sha256, git_sha1):
            return dest
        dest.unlink()  # stale or corrupt: fetch again
    scheme = urlparse(url).scheme
    if scheme == "file":
        return _check_git_sha1(_fetch_local(url, sha256, dest), git_sha1, url)
    if scheme not in ("http", "https"):
        raise DownloadError(f"{url}: unsupported URL scheme {scheme!r}")
    part = dest_dir / (filename + ".part")
    pooch.get_logger().setLevel("WARNING")
    try:
        pooch.retrieve(
            url, known_hash=f"sha256:{sha256}" if sha256 else None, fname=filename, path=dest_dir,
            downloader=_ResumableHTTPDownloader(part),
        )
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        part.unlink(missing_ok=True)
        raise ChecksumError(f"{url}: SHA-256 mismatch for {filename} (expected {sha256[:12]}...); file discarded") \
            from None
    except requests.exceptions.RequestException as exc:
        reason = type(exc).__name__
        if isinstance(exc, requests.exceptions.HTTPError) and exc.response is not None:
            reason = f"HTTP {exc.response.status_code}"
        kept = f"; partial data kept in {part.name} to resume" if part.exists() and part.stat().st_size else ""
        raise DownloadError(f"{url}: download failed ({reason}){kept}") from None
    part.unlink(missing_ok=True)
    return _check_git_sha1(dest, git_sha1, url)


def _check_git_sha1(path: Path, git_sha1: str | None, url: str) -> Path:
    if git_sha1 and git_blob_sha1_of(path) != git_sha1.lower():
        got = git_blob_sha1_of(path)
        path.unlink(missing_ok=True)
        raise ChecksumError(f"{url}: git blob SHA-1 mismatch for {path.name} (expected {git_sha1[:12]}..., got "
                            f"{got[:12]}...); file discarded")
    return path


def _extract(archive: Path, into: Path) -> None:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    else:
        raise DownloadError(f"{archive}: not a zip or tar archive")


def verify_manifest(root: str | Path, manifest: dict[str, str], normalize_newlines: bool = False) -> None:
    """Check every ``relpath -> sha256`` of ``manifest`` under ``root``; one-line error on the first problem."""
    root = Path(root)
    for rel, digest in sorted(manifest.items()):
        path = root / rel
        if not path.is_file():
            raise DatasetMissingError(f"{path}: missing (expected by the data set's manifest)")
        if sha256_of(path, normalize_newlines) != digest.lower():
            raise ChecksumError(f"{path}: SHA-256 differs from the data set's manifest")


def require_files(root: str | Path, relpaths, dataset_name: str) -> None:
    """Raise :class:`DatasetMissingError` naming the first missing file and how to get the data set."""
    from motionkit.datasets.registry import _REGISTRY

    root = Path(root)
    for rel in relpaths:
        path = root / rel
        if not path.exists():
            spec = _REGISTRY.get(dataset_name)
            hint = spec.how_to_get if spec and spec.how_to_get else f"see the {dataset_name} entry in the README"
            raise DatasetMissingError(f"{path}: not found ({dataset_name}); {hint}")


def fetch(name: str, cache_dir: str | Path | None = None) -> Path:
    """Download (once), verify and extract every file of the registered data set ``name``; return its folder."""
    from motionkit.datasets.registry import get_spec

    spec = get_spec(name)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir() / name
    fresh = []
    for item in spec.files:
        if not item.url:
            raise DatasetMissingError(f"{name}: {item.filename} cannot be downloaded automatically; {spec.how_to_get}")
        path = fetch_file(item.url, item.sha256, root, item.filename, getattr(item, "git_sha1", None))
        marker = root / f".{item.filename}.extracted"
        if item.extract and not marker.exists():
            try:
                _extract(path, root)
            except (DownloadError, zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
                path.unlink(missing_ok=True)  # never keep an unreadable download: the next fetch starts over
                raise DownloadError(f"{item.url}: the download is not a readable archive ({exc}; an HTML page or a "
                                    "cut download?); deleted it, run again to download it anew") from None
            marker.write_text(sha256_of(path))
            fresh.append((path, marker))
    data_root = root / spec.subdir if spec.subdir else root
    if spec.manifest:
        try:
            verify_manifest(data_root, spec.manifest, spec.normalize_newlines)
        except (ChecksumError, DatasetMissingError) as exc:
            if not fresh:  # extracted earlier and changed since: say what to delete rather than guess
                raise type(exc)(f"{exc}; the cached copy in {root} was changed after it was verified: delete "
                                "that folder and run again to download it anew") from None
            for path, marker in fresh:  # an archive without a checksum that does not match the manifest
                path.unlink(missing_ok=True)
                marker.unlink(missing_ok=True)
            raise ChecksumError(f"{exc}; the download does not match the data set's manifest and was deleted "
                                f"(delete {root} to start from scratch)") from None
    return data_root


def make_manifest(root: str | Path, pattern: str = "**/*", normalize_newlines: bool = False) -> dict[str, str]:
    """``relpath -> sha256`` of every file under ``root`` matching ``pattern`` (to register a data set)."""
    root = Path(root)
    return {
        p.relative_to(root).as_posix(): sha256_of(p, normalize_newlines)
        for p in sorted(root.glob(pattern)) if p.is_file()
    }
