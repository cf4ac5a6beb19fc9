"""Named data sets: a registry (``registry``) and verified downloads (``download``).

Each package registers its own data sets beside their readers (name -> public location, licence, whether the
project may redistribute them, the reader, the synthetic writer); importing the package's data module fills the
registry, so it never names a reader that does not exist.
"""

from motionkit.datasets.download import (
    default_cache_dir,
    fetch,
    fetch_file,
    git_blob_sha1_of,
    make_manifest,
    require_files,
    sha256_of,
    verify_manifest,
)
from motionkit.datasets.registry import DatasetFile, DatasetSpec, get_spec, list_datasets, load_function, register

__all__ = [
    "DatasetFile", "DatasetSpec", "register", "get_spec", "list_datasets", "default_cache_dir", "fetch",
    "fetch_file", "make_manifest", "require_files", "sha256_of", "verify_manifest", "git_blob_sha1_of",
    "load_function",
]
