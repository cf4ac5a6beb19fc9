"""pytest plugin shared by every package (registered through the ``pytest11`` entry point).

- ``--regen``: rewrite golden files instead of comparing against them.
- ``golden`` fixture: ``golden.check(name, values, rtol=..., atol=...)`` compares with
  ``<test file folder>/golden/<name>.json``.
- markers: ``slow``; ``cuda`` (skipped when torch has no CUDA device); ``ddp`` (multi-process tests);
  ``fault(cls, what)``: a case of the fault suite (issue 20), counted per class in the summary, see
  :mod:`motionkit.fault_suite`.
- :func:`check_imports`: a package's import rules (no cycles, train never imports evaluate, every module
  imports alone); each package's ``tests/test_imports.py`` calls it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from motionkit.fault_suite import FaultSuite
from motionkit.golden import check_golden


def pytest_addoption(parser) -> None:
    group = parser.getgroup("motionzoo")
    group.addoption("--regen", action="store_true", default=False,
                    help="rewrite tests/golden/*.json from this run instead of comparing")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: a longer test (still part of the suite)")
    config.addinivalue_line("markers", "cuda: needs a CUDA GPU; skipped without one")
    config.addinivalue_line("markers", "ddp: launches several processes with torchrun")
    config.addinivalue_line("markers", "fault(cls, what): a fault-suite case of class cls (1-7, issue 20)")
    config.pluginmanager.register(FaultSuite(config), "motionkit-fault-suite")


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


_IMPORT_ALONE = """
import importlib, sys, traceback
package, names = sys.argv[1], sys.argv[2:]
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == package or exc.name.startswith(package + ".")):
            failed.append(f"{name}: {exc}")
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
"""


def check_imports(package: str) -> None:
    """Fail (``pytest.fail``) when ``package`` breaks the import rules of the house: an import cycle, a
    ``train*`` module importing an ``evaluate*`` module (static graph, :mod:`motionkit.importgraph`), or a
    module that cannot be imported alone (each in a fresh set of the package's modules, one subprocess).
    A module whose optional third-party dependency is missing is not counted."""
    import subprocess
    import sys

    from motionkit.importgraph import import_problems, module_graph

    graph = module_graph(package)
    problems = import_problems(graph)
    result = subprocess.run([sys.executable, "-c", _IMPORT_ALONE, package, *sorted(graph)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        problems.append(f"import-alone check crashed: {result.stderr.strip().splitlines()[-1:]}")
    problems += [line for line in result.stdout.splitlines() if line.strip()]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
