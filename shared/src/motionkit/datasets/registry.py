"""The registry of named data sets: where each one comes from, what its licence allows, how to load it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DatasetFile", "DatasetSpec", "register", "get_spec", "list_datasets", "load_function"]


@dataclass(frozen=True)
class DatasetFile:
    """One downloadable file of a data set.

    Args:
        url: ``http(s)://``, ``file://`` (a local copy) or ``""`` when the file cannot be downloaded
            automatically (licence requires registration); then ``DatasetSpec.how_to_get`` says what to do.
        sha256: expected hex digest, or ``None`` when the publisher gives none (the file is then checked
            against ``DatasetSpec.manifest`` after extraction, where one exists).
        filename: name in the cache folder.
        extract: unpack the archive (zip/tar) into the data set's folder after verification.
        git_sha1: expected git blob SHA-1 (for files published in a git repository), checked like ``sha256``.
    """

    url: str
    sha256: str | None
    filename: str
    extract: bool = False
    git_sha1: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A named data set.

    ``manifest`` maps relative paths (inside the data set's folder) to SHA-256 digests; it lets a user's own copy,
    or an archive without a published checksum, be verified file by file. ``loader`` is the reader: a function
    taking the data set's root folder, registered by the package that owns the reader (beside it), or the string
    ``"package.module:func"`` naming one; :func:`load_function` returns it either way. ``subdir`` is the folder
    inside the extracted download that holds the data (what :func:`~motionkit.datasets.fetch` returns; manifest
    paths are relative to it).
    ``normalize_newlines`` hashes text files with CRLF read as LF (for data that circulates with both).
    """

    name: str
    description: str
    homepage: str
    licence: str
    redistributable: bool
    files: tuple[DatasetFile, ...] = ()
    manifest: dict[str, str] | None = None
    loader: Callable[..., Any] | str = ""
    citation: str = ""
    how_to_get: str = ""
    subdir: str = ""
    normalize_newlines: bool = False
    extra: dict = field(default_factory=dict)


_REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec, replace: bool = False) -> DatasetSpec:
    """Add ``spec`` to the registry (packages call this at import time for their own data sets)."""
    if spec.name in _REGISTRY and not replace and _REGISTRY[spec.name] != spec:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> DatasetSpec:
    from motionkit.errors import DatasetMissingError

    try:
        return _REGISTRY[name]
    except KeyError:
        raise DatasetMissingError(f"unknown dataset {name!r}; registered: {', '.join(list_datasets())}") from None


def list_datasets() -> list[str]:
    return sorted(_REGISTRY)


def load_function(name: str) -> Callable[..., Any]:
    """The reader registered for data set ``name`` (importing ``"module:func"`` when given as a string)."""
    import importlib

    from motionkit.errors import DatasetMissingError

    loader = get_spec(name).loader
    if callable(loader):
        return loader
    module, _, attr = str(loader).partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        raise DatasetMissingError(f"dataset {name!r}: its reader {loader!r} is not installed") from None
