"""pytest plugin shared by every package (registered through the ``pytest11`` entry point).

- ``--regen``: rewrite golden files instead of comparing against them.
- ``golden`` fixture: ``golden.check(name, values, rtol=..., atol=...)`` compares with
  ``<test file folder>/golden/<name>.json``.
- markers: ``slow``; ``cuda`` (skipped when torch has no CUDA device); ``ddp`` (multi-process tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from motionkit.golden import check_golden


def pytest_addoption(parser) -> None:
    group = parser.getgroup("motionzoo")
    group.addoption("--regen", action="store_true", default=False,
                    help="rewrite tests/golden/*.json from this run instead of comparing")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: a longer test (still part of the suite)")
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU; skipped without one")
    config.addinivalue_line("markers", "ddp: launches several processes with torchrun")


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items) -> None:
    if any("cuda" in item.keywords for item in items) and not _cuda_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "cuda" in item.keywords:
                item.add_marker(skip)


class Golden:
    def __init__(self, folder: Path, regen: bool) -> None:
        self.folder = folder
        self.regen = regen

    def check(self, name: str, values: dict, rtol: float = 1e-4, atol: float = 1e-6) -> None:
        check_golden(self.folder / f"{name}.json", values, rtol=rtol, atol=atol, regen=self.regen)


@pytest.fixture
def golden(request) -> Golden:
    return Golden(Path(request.path).parent / "golden", request.config.getoption("--regen"))
