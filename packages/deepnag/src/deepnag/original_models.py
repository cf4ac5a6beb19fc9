"""The original DeepNAG's four released models, by name, downloaded once and verified.

    original:DeepNAG/dollar-gds      original:DeepNAG/jk2017-kinect
    original:DeepGAN/dollar-gds      original:DeepGAN/jk2017-kinect

Each is `pretrained_models/<model>/<dataset>/checkpoint-best.tar` of github Maghoumi/DeepNAG (MIT) at the commit
below. The repository gives no SHA-256 for them, only their git blob ids, so motionkit's downloader checks each
download against its git blob SHA-1: sha1(b"blob <size>\\0" + content), the id `git hash-object` prints (any
other file is refused and deleted). They are registered in motionkit's registry under
`deepnag-original/<model>/<dataset>` and cached in motionkit's data cache (`$MOTIONZOO_DATA`, else
`datasets/cache/` of the checkout). Set `DEEPNAG_ORIGINAL_URL` to a mirror holding the same
`pretrained_models/` tree to download from elsewhere.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from motionkit.datasets import DatasetFile, DatasetSpec, default_cache_dir, fetch_file, get_spec, register
from motionkit.errors import ConfigError

ORIGINAL_COMMIT = "4b1bac9cf6b7ff74b57210fb07e3bcb60f320ef9"
ORIGINAL_URL = f"https://raw.githubusercontent.com/Maghoumi/DeepNAG/{ORIGINAL_COMMIT}"
FILENAME = "checkpoint-best.tar"

# name -> git blob SHA-1 of pretrained_models/<name>/checkpoint-best.tar at ORIGINAL_COMMIT
ORIGINAL_MODELS = {
    "DeepGAN/dollar-gds": "d8cceed6fb85ccc3dbb39fa0dc96c6dde254ec32",
    "DeepGAN/jk2017-kinect": "914b6fd1e0f9d68e0df12be7896087680ae0b28d",
    "DeepNAG/dollar-gds": "50fc99fe59c0964e8af71d330c2e90898a7033e3",
    "DeepNAG/jk2017-kinect": "5d51a32f3ade3128859a137eb787d64af933cb6b",
}
REGISTRY_PREFIX = "deepnag-original/"


def _register_all() -> None:
    for name, sha1 in ORIGINAL_MODELS.items():
        register(DatasetSpec(
            name=REGISTRY_PREFIX + name,
            description=f"the original DeepNAG repository's released {name.replace('/', ' model on ')}",
            homepage="https://github.com/Maghoumi/DeepNAG",
            licence="MIT (weights of the JK2017 models derive from JK2017: academic research use)",
            redistributable=False,
            files=(DatasetFile(f"{ORIGINAL_URL}/pretrained_models/{name}/{FILENAME}", None, FILENAME,
                               git_sha1=sha1),),
            loader="deepnag.models:load_generator",
            citation="Maghoumi, Taranta, LaViola. DeepNAG: Deep Non-Adversarial Gesture Generation. IUI 2021.",
        ), replace=True)


_register_all()


_RELEASED_PATH = re.compile(
    r"(?:^|.*/)pretrained_models/(DeepNAG|DeepGAN)/(dollar-gds|jk2017-kinect)/checkpoint-best\.tar$")


def released_name_for_path(path: str | Path) -> str | None:
    """"pretrained_models/DeepNAG/dollar-gds/checkpoint-best.tar" (the original README's path) -> its name,
    when no such file exists here; None otherwise."""
    match = _RELEASED_PATH.match(str(path))
    if match is None or Path(path).exists():
        return None
    return f"{match.group(1)}/{match.group(2)}"


def original_model_url(name: str) -> str:
    """Where `name` is downloaded from (the registry's URL, or under $DEEPNAG_ORIGINAL_URL when set)."""
    base = os.environ.get("DEEPNAG_ORIGINAL_URL")
    if base:
        return f"{base.rstrip('/')}/pretrained_models/{name}/{FILENAME}"
    return get_spec(REGISTRY_PREFIX + name).files[0].url


def fetch_original_model(name: str, cache_dir: str | Path | None = None) -> Path:
    """Download (once) and verify the released model `name` (e.g. "DeepNAG/dollar-gds"); returns its path.

    A cached or downloaded file whose git blob SHA-1 differs from the registered one is deleted and refused
    with a one-line ChecksumError (motionkit.datasets.fetch_file).
    """
    if name not in ORIGINAL_MODELS:
        raise ConfigError(f"original:{name}: unknown released model (choose from "
                          f"{', '.join('original:' + n for n in ORIGINAL_MODELS)})")
    item = get_spec(REGISTRY_PREFIX + name).files[0]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "deepnag-original" / name
    return fetch_file(original_model_url(name), None, folder, FILENAME, git_sha1=item.git_sha1)
