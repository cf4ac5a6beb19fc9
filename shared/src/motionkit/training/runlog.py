"""Run logging: scalars to TensorBoard (tensorboardX) and ``metrics.jsonl``, messages to the console,
progress bars with tqdm. On non-main DDP ranks (``enabled=False``) everything is silent."""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

from tqdm.auto import tqdm

from motionkit.errors import DataFormatError

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
        self._bars: list[tqdm] = []
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
        tmp = self._jsonl.with_name(f".{self._jsonl.name}.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, self._jsonl)  # a kill here leaves the old rows or the new ones, never half of them

    def info(self, message: str) -> None:
        if self.enabled:
            tqdm.write(message, file=sys.stdout)

    def progress(self, total: int, desc: str = "", initial: int = 0) -> tqdm:
        """A progress bar (off on non-main ranks and under ``TQDM_DISABLE=1``); :meth:`close` ends it, so an
        error line printed after a failed run is the last line, not followed by a redrawn bar."""
        off = not self.enabled or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
        bar = tqdm(total=total, initial=initial, desc=desc, disable=off, dynamic_ncols=True, leave=True)
        self._bars.append(bar)
        return bar

    def _rows(self) -> list[dict]:
        """The logged rows. A last line cut by a kill is dropped (its step is logged again after the resume);
        a damaged line before it is a one-line :class:`DataFormatError` naming the file and line."""
        if not self._jsonl.exists():
            return []
        lines = [line for line in self._jsonl.read_text(encoding="utf-8", errors="replace").splitlines()
                 if line.strip()]
        rows = []
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if not isinstance(row, dict) or not isinstance(row.get("step"), int):
                if number == len(lines):
                    break
                raise DataFormatError(f"{self._jsonl}: line {number} is not a metrics row; remove it to resume")
            rows.append(row)
        return rows

    def history(self) -> dict[str, list[tuple[int, float]]]:
        """Every logged scalar as ``name -> [(step, value), ...]`` (for :func:`motionkit.viz.plot_curves`)."""
        out: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for row in self._rows():
            for key, value in row.items():
                if key != "step":
                    out[key].append((row["step"], value))
        return dict(out)

    def close(self) -> None:
        for bar in self._bars:
            bar.close()
        self._bars.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
