"""The import-graph rules: cycles and train -> evaluate edges are found from source, lazy imports included."""

from __future__ import annotations

from motionkit.importgraph import import_cycles, import_problems, module_graph


def _package(tmp_path, files: dict[str, str]):
    root = tmp_path / "toy"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "__init__.py").touch()
    return root


def test_cycles_and_train_evaluate_edges_are_found(tmp_path):
    root = _package(tmp_path, {
        "train.py": "def f():\n    from toy.evaluate import report\n",
        "evaluate.py": "from toy import train\n",
        "models/__init__.py": "from .gru import Net\n",
        "models/gru.py": "from . import layers\n",
        "models/layers.py": "import numpy\n",
        "typed.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toy.train import f\n",
    })
    graph = module_graph(root)
    assert graph["toy.models.gru"] == {"toy.models.layers"}
    assert graph["toy.models"] == {"toy.models.gru"}
    assert graph["toy.typed"] == set()
    assert import_cycles(graph) == [["toy.evaluate", "toy.train"]]
    problems = import_problems(graph)
    assert "toy.train imports toy.evaluate (train must not import evaluate)" in problems


def test_motionkit_itself_is_clean():
    assert import_problems(module_graph("motionkit")) == []
