"""Golden-value regression checks.

A golden file ``tests/golden/<name>.json`` holds the values a fixed-seed run produced when the file was made.
Tests compare a fresh run against it with explicit tolerances; ``pytest --regen`` (see ``motionkit.testing``)
rewrites the files instead. A failed comparison lists every value that moved and by how much.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["GoldenMismatch", "compare", "check_golden"]


class GoldenMismatch(AssertionError):
    """Raised when values differ from their golden file beyond the tolerances."""


def _flatten(values: Any, prefix: str = "") -> dict[str, float]:
    if isinstance(values, dict):
        out: dict[str, float] = {}
        for key, value in values.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(values, list | tuple):
        out = {}
        for i, value in enumerate(values):
            out.update(_flatten(value, f"{prefix}[{i}]"))
        return out
    return {prefix: float(values)}


def compare(actual: dict[str, Any], expected: dict[str, Any], rtol: float, atol: float) -> list[str]:
    """Differences between two nested dicts of numbers: ``|a - e| <= atol + rtol * |e|`` must hold for each."""
    flat_a, flat_e = _flatten(actual), _flatten(expected)
    problems = []
    for key in sorted(set(flat_a) | set(flat_e)):
        if key not in flat_a:
            problems.append(f"{key}: missing from this run (golden {flat_e[key]:.6g})")
        elif key not in flat_e:
            problems.append(f"{key}: not in the golden file (this run {flat_a[key]:.6g})")
        else:
            a, e = flat_a[key], flat_e[key]
            if math.isnan(a) and math.isnan(e):
                continue
            if not abs(a - e) <= atol + rtol * abs(e):
                tol = atol + rtol * abs(e)
                problems.append(f"{key}: moved {e:.6g} -> {a:.6g} (|diff| {abs(a - e):.3g} > {tol:.3g})")
    return problems


def check_golden(path: str | Path, values: dict[str, Any], rtol: float = 1e-4, atol: float = 1e-6,
                 regen: bool = False) -> None:
    """Compare ``values`` with the golden file at ``path``, or write it when ``regen`` is true."""
    path = Path(path)
    if regen:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"rtol": rtol, "atol": atol, "values": values}, indent=1, sort_keys=True) + "\n")
        return
    if not path.is_file():
        raise GoldenMismatch(f"{path}: golden file missing; create it with `pytest <tests> --regen`")
    stored = json.loads(path.read_text())
    problems = compare(values, stored["values"], rtol, atol)
    if problems:
        raise GoldenMismatch(f"{path.name}: {len(problems)} value(s) moved:\n  " + "\n  ".join(problems))
