"""Print the import graph of motionkit and every package, read from the source, and any rule it breaks.

    python ci/import_graph.py            # every package
    python ci/import_graph.py deepnag    # one

Each line is `module -> modules of the same package it imports` (imports inside functions count).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "shared" / "src"))

from motionkit.importgraph import import_problems, module_graph  # noqa: E402

SOURCES = {"motionkit": ROOT / "shared" / "src" / "motionkit"}
SOURCES.update({p.name: p / "src" / p.name for p in sorted((ROOT / "packages").iterdir()) if (p / "src").is_dir()})


def main(names: list[str]) -> int:
    bad = 0
    for name in names or list(SOURCES):
        graph = module_graph(SOURCES[name])
        print(f"# {name}: {len(graph)} modules, {sum(map(len, graph.values()))} edges")
        for module in sorted(graph):
            targets = ", ".join(sorted(t.removeprefix(name + ".") for t in graph[module])) or "-"
            print(f"  {module.removeprefix(name + '.') or '(package)'} -> {targets}")
        for line in import_problems(graph):
            print(f"  PROBLEM: {line}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
