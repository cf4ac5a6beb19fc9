"""The replay buffer of a few-shot step (t>=2) and the training batch drawn from it.

The buffer holds the k-shot windows of every speaker so far (the original's ``fewshot_x/y``), or every train
window in the ``*-full`` modes; a batch mixes old-speaker rows (whose targets become the frozen source generator's
pseudo labels in the ``pseudo-*`` modes) and new-speaker rows (ground truth), with the pivot from which rows reach
the discriminator in the ``align`` modes.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from .data.clusters import Preprocessor, select
from .data.fewshot import fewshot_indices
from .data.pats import PatsData
from .models.diffgan import StyleDiffGAN


def autocast(cfg, device):
    if cfg.bf16:
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


FULL_MODES = ("random-full", "no-replay-full")


def replay_rows(cfg, n_spk: int, new_lo: int, n_rows: int, bs: int, gen=None):
    """Row indices into the replay buffer (speaker-major, the newest speaker's rows new_lo..n_rows-1; a
    no-replay buffer holds the newest speaker only, new_lo = 0) and the pivot (first row D sees in the align
    modes). Returns (old_rows, new_rows, pivot), old rows first.

    The original (``gan.py`` ``get_idx_subset``) splits the batch only in ``pseudo-align-fs-src``: bs // n rows of
    the newest speaker, the rest uniformly from older speakers; every other mode draws rows uniformly from the
    buffer (``replay_split: original``). ``replay_split: fixed`` (ours before) uses that split in every replay
    mode. The ``-tgt`` modes always split: their old rows are the new speaker's inputs with old style ids."""
    if cfg.replay.startswith("no-replay") or n_spk == 1 or new_lo == 0:
        return torch.empty(0, dtype=torch.long), new_lo + torch.randint(n_rows - new_lo, (bs,), generator=gen), 0
    if cfg.replay_split == "original" and cfg.replay in ("random-fs", "pseudo-fs-src", "random-full"):
        rows = torch.randint(n_rows, (bs,), generator=gen)
        return rows[rows < new_lo], rows[rows >= new_lo], 0
    bs_r = max(bs // n_spk, 1)
    bs_l = bs - bs_r
    new = new_lo + torch.randint(n_rows - new_lo, (bs_r,), generator=gen)
    if cfg.replay.endswith("-tgt"):
        old = new_lo + torch.randint(n_rows - new_lo, (bs_l,), generator=gen)   # new speaker's inputs, old styles
    else:
        old = torch.randint(new_lo, (bs_l,), generator=gen)          # old speakers' real windows
    pivot = bs_l if "align" in cfg.replay else 0
    return old, new, pivot


class FewshotBuffer:
    """The replay buffer of a step: the k-shot windows of every speaker so far (original fewshot_x/y), read once
    and kept as one batch; in the ``*-full`` modes every train window, read on demand. Rows are speaker-major,
    the newest speaker's from ``new_lo`` on; the ``no-replay`` modes hold the newest speaker only."""

    def __init__(self, cfg, pre: Preprocessor, speakers, device):
        self.pre, self.device, self.batch = pre, device, None
        sampled = speakers[-1:] if cfg.replay.startswith("no-replay") else speakers
        data = self.data = PatsData(cfg.data_dir, sampled, "train", cfg.window_hop, cfg.time, cfg.fps,
                                         cfg.vocab_size)
        self.full = cfg.replay in FULL_MODES
        if self.full:
            self.indices = list(range(len(data)))
        else:
            self.indices = fewshot_indices(data.ranges, sampled, cfg.k_shot, cfg.fewshot_seed, cfg.fewshot_sampler)
        first = len(speakers) - len(sampled)
        self.style = np.array([first + sampled.index(data.windows[i].speaker) for i in self.indices])
        self.new_lo = int(np.searchsorted(self.style, len(speakers) - 1))
        self.batch = None if self.full else self.rows(torch.arange(len(self.indices)))
        self.items = [(data.windows[i].speaker, data.windows[i].interval_id, data.windows[i].pose_start)
                      for i in self.indices]

    def __len__(self):
        return len(self.indices)

    def rows(self, rows: torch.Tensor) -> dict:
        """The batch of buffer rows `rows` (B,)."""
        if self.batch is not None:
            return select(self.batch, rows.to(self.device))
        idx = rows.tolist()
        return self.pre.make_batch([self.data.item(self.indices[i]) for i in idx], self.style[idx], self.device)


def build_replay_batch(cfg, model: StyleDiffGAN, buf: FewshotBuffer, pre, n_spk, device, cache=None):
    """One training batch of a step t>=2. Old rows get G_src targets (pseudo labels; real poses in the random
    modes), new rows keep GT. Returns (batch with 'target', pivot, rows)."""
    old, new, pivot = replay_rows(cfg, n_spk, buf.new_lo, len(buf), cfg.batch_size_tn)
    if not cfg.gan.startswith("align"):        # the unaligned GAN / DiffGAN wrappers: D sees every row
        pivot = 0
    rows = torch.cat([old, new])
    batch = buf.rows(rows)
    target = batch["pose"].clone()
    n_old = len(old)
    if n_old and not cfg.replay.startswith("random"):
        if cfg.replay.endswith("-tgt"):
            style = torch.randint(n_spk - 1, (n_old,)).to(device)
            batch["style"] = torch.cat([style, batch["style"][n_old:]])
            with autocast(cfg, device):
                if cache is not None:
                    pseudo = model.G_src.head(cache["h"][rows[:n_old].to(device)], style, with_id_out=False)["pose"]
                else:
                    pseudo = model.pseudo_labels(select(batch, slice(0, n_old)), style_from_pose=False)
            pseudo = pseudo.float()
            batch["labels"] = torch.cat([torch.as_tensor(pre.labels(pre.denorm_pose96(pseudo)), device=device),
                                         batch["labels"][n_old:]])
        elif cache is not None:
            pseudo = cache["pseudo"][rows[:n_old].to(device)]
        else:
            with autocast(cfg, device):
                pseudo = model.pseudo_labels(select(batch, slice(0, n_old))).float()
        target[:n_old] = pseudo
    batch["target"] = target
    return batch, pivot, rows


