"""The fault suite's bookkeeping: which fault cases ran in a pytest session, per class, and how they ended.

A test becomes a fault case with ``@pytest.mark.fault(cls, "what was tried")``. ``cls`` is one of the seven
classes of issue 20 (:data:`FAULT_CLASSES`). One case is one bad input (parametrize rather than loop), and its
test asserts the required ending: for an error, one ``error:`` line and exit 2 (:mod:`motionkit.faults`);
for a change on resume, applied and logged or refused in one line; for a killed write, the earlier state intact.
A passing case therefore ended as required; a failing one did not.

At the end of the session the plugin prints one line per class (cases tried, cases that ended as required;
how many of those ended a command with one ``error:`` line, the rest being changes applied and logged, caches
rebuilt, downloads or killed runs resumed, leftovers removed, or a library call's one-line exception)
and, when ``MOTIONZOO_FAULT_REPORT`` names a folder, writes ``<folder>/<package>.json`` with every case, which
``ci/fault_report.py`` sums over the packages (``make test`` does both). Standard library only.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from motionkit.errors import one_line_errors

__all__ = ["FAULT_CLASSES", "FaultSuite"]

#: The classes of faults named in issue 20, by number.
FAULT_CLASSES = {
    1: "divergence never reaches a checkpoint",
    2: "resume with a changed setting",
    3: "a bad value is refused, not silently accepted",
    4: "one line instead of a traceback",
    5: "the download cache never keeps a bad file",
    6: "two runs, one folder or cache",
    7: "no misleading lines, no leftovers",
}


class FaultSuite:
    """A pytest plugin object: records the outcome of every ``fault``-marked test of the session."""

    def __init__(self, config) -> None:
        self.config = config
        self.cases: list[dict] = []
        self.pending: dict[str, dict] = {}
        self.one_line: dict[str, bool] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        """Note whether the case ended a command with an ``error:`` line (in this process, or verified in a
        child by :func:`motionkit.faults.assert_one_line_error`)."""
        before = one_line_errors()
        yield
        self.one_line[item.nodeid] = one_line_errors() > before

    def pytest_runtest_logreport(self, report) -> None:
        marker = self.pending.get(report.nodeid)
        if marker is None:
            return
        failed_setup = report.when == "setup" and report.outcome != "passed"
        if report.when == "call" or failed_setup:
            self.cases.append({**marker, "test": report.nodeid, "outcome": report.outcome,
                               "one_line": self.one_line.get(report.nodeid, False)})

    def pytest_runtest_makereport(self, item, call):
        """Copy the item's ``fault`` marker onto its report (reports do not carry markers)."""
        marker = item.get_closest_marker("fault")
        if marker is None:
            return None
        cls = marker.args[0] if marker.args else marker.kwargs.get("cls")
        what = marker.args[1] if len(marker.args) > 1 else marker.kwargs.get("what", item.originalname)
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            what = f"{what} [{callspec.id}]"
        if cls not in FAULT_CLASSES:
            raise ValueError(f"{item.nodeid}: fault class must be one of {sorted(FAULT_CLASSES)}, not {cls!r}")
        self.pending[item.nodeid] = {"class": cls, "what": what, "package": _package_of(Path(item.path))}
        return None

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.cases:
            return
        counted = [c for c in self.cases if c["outcome"] != "skipped"]
        tried, ended = Counter(), Counter()
        for case in counted:
            tried[case["class"]] += 1
            ended[case["class"]] += case["outcome"] == "passed"
        write = terminalreporter.write_line
        one_line = sum(1 for c in counted if c["outcome"] == "passed" and c.get("one_line"))
        write(f"fault suite (issue 20): {len(counted)} cases tried, {sum(ended.values())} ended as required, "
              f"{one_line} of them in one error line")
        for cls in sorted(tried):
            write(f"  class {cls} {FAULT_CLASSES.get(cls, '?'):48s} {ended[cls]:3d} / {tried[cls]:3d}")
        folder = os.environ.get("MOTIONZOO_FAULT_REPORT")
        if folder:
            self._write_report(Path(folder))

    def _write_report(self, folder: Path) -> None:
        package = self.cases[0]["package"]
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{package}.json.tmp"
        tmp.write_text(json.dumps({"package": package, "cases": self.cases}, indent=1))
        os.replace(tmp, folder / f"{package}.json")


def _package_of(test_file: Path) -> str:
    """The package a test file belongs to: ``packages/<name>/tests/...`` -> name, ``shared/...`` -> motionkit."""
    parts = test_file.resolve().parts
    if "packages" in parts and len(parts) > parts.index("packages") + 1:
        return parts[parts.index("packages") + 1]
    return "motionkit"
