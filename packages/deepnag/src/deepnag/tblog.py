"""TensorBoard events with the original's tags (`--use-tensorboard=1`), written to `<run folder>/tb/`.

The original (models/model_base.py) writes, once per epoch (DeepGAN: per generator step), with the 0-based
epoch as the step: `<metric>_train` for every metric it tracks (DeepNAG: loss_ed, loss_cos, loss_resample,
loss; DeepGAN: loss_d, neg_loss_d, loss_d_real, loss_d_fake, loss_g, wassersteind_d), `best_<key>_train` for
the metric that picks the best checkpoint (loss / neg_loss_d), and every `--vis-frequency` epochs the
constant-latent figure `const_latent` (pen data only, as the original).
"""

from __future__ import annotations

from pathlib import Path

# our metric name -> the original's metric name
ORIGINAL_NAMES = {"wasserstein": "wassersteind_d"}
TRACKED = {
    "DeepNAG": ("loss_ed", "loss_cos", "loss_resample", "loss"),
    "DeepGAN": ("loss_d", "neg_loss_d", "loss_d_real", "loss_d_fake", "loss_g", "wasserstein"),
}


class OriginalTensorBoard:
    """A tensorboardX writer that logs the original's tags; does nothing when disabled (or on DDP ranks > 0)."""

    def __init__(self, run_dir: str | Path, model: str, enabled: bool):
        self.model = model
        self.writer = None
        if enabled:
            from tensorboardX import SummaryWriter

            self.writer = SummaryWriter(str(Path(run_dir) / "tb"))

    def epoch(self, epoch: int, metrics: dict[str, float], best_key: str, best: float) -> None:
        """Scalars of one finished epoch (0-based `epoch`, as the original)."""
        if self.writer is None:
            return
        self.writer.add_scalar(f"best_{best_key}_train", best, epoch)
        for name in TRACKED[self.model]:
            if name in metrics:
                self.writer.add_scalar(f"{ORIGINAL_NAMES.get(name, name)}_train", metrics[name], epoch)

    def figure(self, tag: str, fig, epoch: int) -> None:
        if self.writer is not None:
            self.writer.add_figure(tag, fig, epoch)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
