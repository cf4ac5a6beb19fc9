"""Named data sets: a registry (``registry``), verified downloads (``download``) and the built-in catalogue.

Packages look data sets up by name; ``catalog`` registers the ones the papers use, with their public location,
licence and whether the project may redistribute them.
"""

from motionkit.datasets import catalog as _catalog  # noqa: F401  (registers the built-in data sets)
from motionkit.datasets.download import (
    default_cache_dir,
    fetch,
    fetch_file,
    make_manifest,
    require_files,
    sha256_of,
    verify_manifest,
)
from motionkit.datasets.registry import DatasetFile, DatasetSpec, get_spec, list_datasets, register

__all__ = [
    "DatasetFile", "DatasetSpec", "register", "get_spec", "list_datasets", "default_cache_dir", "fetch",
    "fetch_file", "make_manifest", "require_files", "sha256_of", "verify_manifest",
]
