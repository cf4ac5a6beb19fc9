"""Few-shot sampler (original ``MultiClassFewshotSampler``).

For each speaker, ``k_shot`` window indices are drawn with replacement from that speaker's contiguous window range.
The original used one ``torch.Generator(fewshot_seed)`` for all speakers in list order, so an old speaker's windows
only stayed identical while the list prefix and range sizes did. We seed one generator per speaker from
(fewshot_seed, crc32(speaker name)): an old speaker gets exactly the same windows at every later step, whatever
comes after it in the list.
"""

from __future__ import annotations

import zlib

import torch


def speaker_generator(fewshot_seed: int, speaker: str) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(fewshot_seed) * 1_000_003 + zlib.crc32(speaker.encode()))
    return g


def fewshot_indices(ranges: dict[str, tuple[int, int]], speakers, k_shot: int, fewshot_seed: int) -> list[int]:
    """Global window indices, ``k_shot`` per speaker in list order (speaker-major)."""
    out = []
    for spk in speakers:
        lo, hi = ranges[spk]
        if hi <= lo:
            from motionkit.errors import DatasetMissingError
            raise DatasetMissingError(f"speaker '{spk}' has no training windows for the few-shot buffer")
        g = speaker_generator(fewshot_seed, spk)
        out += (lo + torch.randint(hi - lo, (k_shot,), generator=g)).tolist()
    return out
