"""Sum the fault suite over the packages: one row per package and class, cases tried / ended as required.

Usage: ``python ci/fault_report.py DIR`` where DIR holds the ``<package>.json`` files that the pytest plugin
(:mod:`motionkit.fault_suite`) writes when ``MOTIONZOO_FAULT_REPORT=DIR``; ``make test`` sets it and runs this.
``--cases`` lists every case. Exits 1 when a case did not end as required. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

CLASSES = {
    1: "divergence", 2: "resume change", 3: "bad value accepted", 4: "traceback",
    5: "download cache", 6: "two runs/caches", 7: "misleading/leftover",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--cases", action="store_true", help="list every case")
    args = parser.parse_args(argv)
    reports = sorted(args.folder.glob("*.json"))
    if not reports:
        print(f"error: no fault reports in {args.folder}", file=sys.stderr)
        return 2
    rows, failed, one_line = {}, [], 0
    for report in reports:
        for case in json.loads(report.read_text())["cases"]:
            if case["outcome"] == "skipped":
                continue
            tried, ended = rows.get((case["package"], case["class"]), (0, 0))
            ok = case["outcome"] == "passed"
            one_line += ok and bool(case.get("one_line"))
            rows[(case["package"], case["class"])] = (tried + 1, ended + ok)
            if args.cases or not ok:
                line = f"{case['package']:17s} {case['class']} {case['what']}: {'ok' if ok else case['outcome']}"
                (print(line) if ok else failed.append(line))
    packages = sorted({p for p, _ in rows})
    header = f"{'class':24s}" + "".join(f"{p[:16]:>18s}" for p in packages) + f"{'all':>10s}"
    print(header)
    for cls, name in CLASSES.items():
        cells, total = [], [0, 0]
        for package in packages:
            tried, ended = rows.get((package, cls), (0, 0))
            total = [total[0] + tried, total[1] + ended]
            cells.append(f"{ended}/{tried}" if tried else "-")
        print(f"{cls} {name:22s}" + "".join(f"{c:>18s}" for c in cells) + f"{total[1]}/{total[0]}".rjust(10))
    tried = sum(t for t, _ in rows.values())
    ended = sum(e for _, e in rows.values())
    print(f"fault suite: {tried} cases tried, {ended} ended as required; {one_line} of them ended a command with "
          "one error line (the others: a change applied and logged, a cache rebuilt, a download or killed run "
          "resumed, leftovers removed, or a library call's one-line exception)")
    for line in failed:
        print("NOT AS REQUIRED:", line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
