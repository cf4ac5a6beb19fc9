"""Few-shot sampler (original ``MultiClassFewshotSampler``, ``dataUtils.py:901ff``).

For each speaker, ``k_shot`` window indices are drawn with replacement from that speaker's contiguous window range.

- ``original`` (the original's ``-fewshot_seed``): one ``torch.Generator`` seeded with ``fewshot_seed`` draws
  ``randint(lo, hi, (k_shot,))`` for each sampled speaker in list order. An old speaker's windows stay the same at
  a later step only while the list before it and the range sizes do, and a mode that samples only the newest
  speaker (``no-replay-fs``) gives it the generator's first draw.
- ``per-speaker`` (ours): one generator per speaker seeded from (fewshot_seed, crc32(name)), so a speaker gets the
  same windows at every step whatever comes before or after it.
"""

from __future__ import annotations

import zlib

import torch


def speaker_generator(fewshot_seed: int, speaker: str) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(fewshot_seed) * 1_000_003 + zlib.crc32(speaker.encode()))
    return g


def fewshot_indices(ranges: dict[str, tuple[int, int]], speakers, k_shot: int, fewshot_seed: int,
                    sampler: str = "per-speaker") -> list[int]:
    """Global window indices, ``k_shot`` per speaker of `speakers` in list order (speaker-major)."""
    shared = torch.Generator()
    shared.manual_seed(int(fewshot_seed))
    out = []
    for spk in speakers:
        lo, hi = ranges[spk]
        if hi <= lo:
            from motionkit.errors import DatasetMissingError
            raise DatasetMissingError(f"speaker '{spk}' has no training windows for the few-shot buffer")
        if sampler == "original":
            out += torch.randint(lo, hi, (k_shot,), dtype=torch.int64, generator=shared).tolist()
        else:
            out += (lo + torch.randint(hi - lo, (k_shot,), generator=speaker_generator(fewshot_seed, spk))).tolist()
    return out
