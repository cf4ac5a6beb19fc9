"""Building blocks of Mix-StAGE: conv-norm-relu, audio/text encoders, cross-modal fusion, 1-D U-Net, style encoder.

Shapes: B batch, T=64 frames, C hidden (paper 256), L tokens per window, S style slots (25).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


class CNR(nn.Module):
    """Conv(k, s, pad=(k-s)//2) -> BatchNorm -> LeakyReLU(0.2); 1-D or 2-D, optional groups."""

    def __init__(self, cin, cout, k=3, s=1, pad=None, groups=1, dim=1):
        super().__init__()
        conv = nn.Conv1d if dim == 1 else nn.Conv2d
        bn = nn.BatchNorm1d if dim == 1 else nn.BatchNorm2d
        if pad is None:
            pad = (k - s) // 2 if isinstance(k, int) else tuple((kk - s) // 2 for kk in k)
        self.conv = conv(cin, cout, k, s, pad, groups=groups)
        self.bn = bn(cout)

    def forward(self, x):
        return F.leaky_relu(self.bn(self.conv(x)), 0.2)


def sinusoidal_pe(length: int, dim: int, device=None) -> torch.Tensor:
    """Standard sine/cosine positional encoding, (length, dim)."""
    pos = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
    return pe


class AudioEncoder(nn.Module):
    """log-mel (B, 1, T=64, 64 mels) -> (B, C, T). Eight 2-D CNR blocks, then nearest interpolation to (T, 1)."""

    def __init__(self, C=256):
        super().__init__()
        c1, c2 = max(C // 4, 1), max(C // 2, 1)
        self.net = nn.Sequential(
            CNR(1, c1, 3, 1, dim=2), CNR(c1, c1, 4, 2, dim=2),
            CNR(c1, c2, 3, 1, dim=2), CNR(c2, c2, 4, 2, dim=2),
            CNR(c2, C, 3, 1, dim=2), CNR(C, C, 4, 2, dim=2),
            CNR(C, C, 3, 1, dim=2), CNR(C, C, (3, 8), 1, pad=(1, 3), dim=2),
        )

    def forward(self, audio):
        T = audio.shape[2]
        h = self.net(audio)                                   # (B, C, 8, 7)
        return F.interpolate(h, size=(T, 1), mode="nearest").squeeze(-1)


def load_bert(bert_path="", bert_config=None):
    """BERT for the text encoder, never downloaded: the architecture alone from ``bert_config`` (weights come
    from a checkpoint), else the weights in the folder ``bert_path``, else bert-base-uncased from the local
    Hugging Face cache (as the original's ``from_pretrained('bert-base-uncased')``, offline)."""
    from motionkit.errors import ConfigError
    try:
        from transformers import BertConfig, BertModel
    except ImportError:
        raise ConfigError("text_encoder=bert needs the [bert] extra (pip install 'cdiffgan[bert]')") from None
    if bert_config is not None:
        return BertModel(BertConfig(**bert_config))
    if bert_path:
        if not (Path(bert_path) / "config.json").is_file():
            raise ConfigError(f"bert_path {bert_path}: not a folder with a BERT config.json and weights "
                              "(save one with BertModel.save_pretrained)")
        return BertModel.from_pretrained(bert_path, local_files_only=True)
    try:
        return BertModel.from_pretrained("bert-base-uncased", local_files_only=True)
    except OSError:
        raise ConfigError("text_encoder=bert: bert-base-uncased is not in the local Hugging Face cache and no "
                          "bert_path was given (download it once, or use text_encoder: embedding)") from None


class TextEncoder(nn.Module):
    """Token ids (B, L) -> (B, C, L): learned embedding (default) or BERT + Linear(768->C); + sinusoidal PE."""

    def __init__(self, C=256, vocab_size=30522, kind="embedding", bert_path="", bert_config=None,
                 bert_padding="attention_mask"):
        super().__init__()
        self.kind = kind
        self.bert_padding = bert_padding
        if kind == "bert":
            self.bert = load_bert(bert_path, bert_config)
            self.proj = nn.Linear(self.bert.config.hidden_size, C)
        elif kind == "embedding":
            self.embed = nn.Embedding(vocab_size, C)
        else:
            from motionkit.errors import ConfigError
            raise ConfigError(f"text_encoder must be 'embedding' or 'bert', got {kind!r}")

    def forward(self, tokens, pad_mask):
        if self.kind == "bert":
            # The original passed its mask (1 = real token, 0 = padding) as the 3rd positional arg, which is
            # token_type_ids in transformers 2.5: padding is attended to and real tokens get segment embedding 1
            # (bert_padding: token_type_ids reproduces that); attention_mask is what was meant.
            if self.bert_padding == "token_type_ids":
                out = self.bert(input_ids=tokens, token_type_ids=(~pad_mask).long())
            else:
                out = self.bert(input_ids=tokens, attention_mask=(~pad_mask).long())
            h = self.proj(out.last_hidden_state)
        else:
            h = self.embed(tokens)
        h = h + sinusoidal_pe(tokens.shape[1], h.shape[-1], h.device)
        return h.transpose(1, 2)


def token_memory_mask(durations: torch.Tensor, T: int, nhead: int) -> torch.Tensor:
    """Frame t may attend only to the token whose duration span covers t.

    durations: (B, L) frames per token (sums to T). Returns a bool mask (B*nhead, T, L), True = blocked.
    """
    ends = durations.cumsum(1)                                 # (B, L)
    starts = ends - durations
    t = torch.arange(T, device=durations.device)[None, :, None]
    allowed = (t >= starts[:, None, :]) & (t < ends[:, None, :])   # (B, T, L)
    return (~allowed).repeat_interleave(nhead, dim=0)


class CrossModalFusion(nn.Module):
    """Audio (B, C, T) + PE queries a TransformerDecoder over the text memory (B, C, L); concat with audio ->
    CNR(2C -> C). Output (B, C, T)."""

    def __init__(self, C=256, layers=2, heads=8, ff=2, dropout=0.1):
        super().__init__()
        self.heads = heads
        layer = nn.TransformerDecoderLayer(C, heads, dim_feedforward=ff, dropout=dropout, batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers, norm=nn.LayerNorm(C))
        self.out = CNR(2 * C, C, 3, 1)

    def forward(self, a, text, durations, counts):
        B, C, T = a.shape
        q = a.transpose(1, 2) + sinusoidal_pe(T, C, a.device)
        mem = text.transpose(1, 2)
        L = mem.shape[1]
        key_pad = torch.arange(L, device=a.device)[None, :] >= counts[:, None]
        mmask = token_memory_mask(durations, T, self.heads)
        # additive float masks avoid the bool/float mixing warning of newer PyTorch
        fm = torch.zeros(mmask.shape, dtype=q.dtype, device=a.device).masked_fill(mmask, float("-inf"))
        fk = torch.zeros(key_pad.shape, dtype=q.dtype, device=a.device).masked_fill(key_pad, float("-inf"))
        h = self.decoder(q, mem, memory_mask=fm, memory_key_padding_mask=fk)
        return self.out(torch.cat([h.transpose(1, 2), a], 1))


class UNet1D(nn.Module):
    """(B, C, T) -> (B, C, T); 2x CNR(k3), `depth` downsamplings CNR(k4,s2), then nearest x2 upsampling
    + skip + CNR(k3).
    T must be a multiple of 2**depth (64 with depth 5)."""

    def __init__(self, C=256, depth=5):
        super().__init__()
        self.pre = nn.Sequential(CNR(C, C, 3, 1), CNR(C, C, 3, 1))
        self.down = nn.ModuleList([CNR(C, C, 4, 2) for _ in range(depth)])
        self.up = nn.ModuleList([CNR(C, C, 3, 1) for _ in range(depth)])

    def forward(self, x):
        x = self.pre(x)
        skips = [x]
        for d in self.down:
            x = d(x)
            skips.append(x)
        skips.pop()
        for u in self.up:
            x = u(F.interpolate(x, scale_factor=2, mode="nearest") + skips.pop())
        return x


class PoseStyleEncoder(nn.Module):
    """Pose (B, T=64, P=96) -> style logits (B, S). Seven CNR blocks (six halve time), mean over time."""

    def __init__(self, P=96, S=25, C=256):
        super().__init__()
        c1, c2 = max(C // 4, 1), max(C // 2, 1)
        self.net = nn.Sequential(
            CNR(P, c1, 3, 1), CNR(c1, c1, 4, 2), CNR(c1, c2, 4, 2), CNR(c2, c2, 4, 2),
            CNR(c2, C, 4, 2), CNR(C, C, 4, 2), CNR(C, S, 4, 2),
        )

    def forward(self, pose):
        return self.net(pose.transpose(1, 2)).mean(-1)
