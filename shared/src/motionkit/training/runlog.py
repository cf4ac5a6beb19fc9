"""Run logging: scalars to TensorBoard (tensorboardX) and ``metrics.jsonl``, messages to the console,
progress bars with tqdm. On non-main DDP ranks (``enabled=False``) everything is silent."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["RunLogger"]


class RunLogger:
    """Logs one training run into ``run_dir``.

    ``log(step, loss=..., lr=...)`` appends a JSON line to ``metrics.jsonl`` (the source of loss plots and of
    resumed histories) and, when ``use_tensorboard``, writes TensorBoard scalars under ``run_dir/tb``.
    """

    def __init__(self, run_dir: str | Path, use_tensorboard: bool = True, enabled: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self._writer = None
        if enabled:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if use_tensorboard:
                from tensorboardX import SummaryWriter

                self._writer = SummaryWriter(str(self.run_dir / "tb"))
        self._jsonl = self.run_dir / "metrics.jsonl"

    def log(self, step: int, **scalars: float) -> None:
        if not self.enabled:
            return
        values = {k: float(v) for k, v in scalars.items()}
        with open(self._jsonl, "a") as handle:
            handle.write(json.dumps({"step": int(step), **values}) + "\n")
        if self._writer is not None:
            for key, value in values.items():
                self._writer.add_scalar(key, value, int(step))

    def truncate_after(self, step: int) -> None:
        """Drop logged rows after ``step`` (called on resume, so the history matches the restored checkpoint)."""
        if not self.enabled or not self._jsonl.exists():
            return
        rows = [r for r in self._rows() if r["step"] <= step]
        self._jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def info(self, message: str) -> None:
        if self.enabled:
            tqdm.write(message, file=sys.stdout)

    def progress(self, total: int, desc: str = "", initial: int = 0) -> tqdm:
        return tqdm(total=total, initial=initial, desc=desc, disable=not self.enabled, dynamic_ncols=True,
                    leave=True)

    def _rows(self) -> list[dict]:
        if not self._jsonl.exists():
            return []
        return [json.loads(line) for line in self._jsonl.read_text().splitlines() if line.strip()]

    def history(self) -> dict[str, list[tuple[int, float]]]:
        """Every logged scalar as ``name -> [(step, value), ...]`` (for :func:`motionkit.viz.plot_curves`)."""
        out: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for row in self._rows():
            for key, value in row.items():
                if key != "step":
                    out[key].append((row["step"], value))
        return dict(out)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
