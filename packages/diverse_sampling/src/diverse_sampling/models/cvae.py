"""Stage t1: the GCN-on-DCT conditional VAE (notes 2.3).

Encoder : GCBlock(2*3*dct_n -> H) -> enc_blocks x ResGCB(H); input = concat(cond, data) along features
mean/logvar : Linear(n*H -> z) each, on the flattened encoder output
Decoder : GCBlock(3*dct_n + z -> H) -> dec_blocks x ResGCB(H) -> GraphConv(H -> 3*dct_n); + cond (residual on DCT)
cond = DCT (first dct_n coefficients) of the history padded with its last frame; data = DCT of the full window.
"""

from __future__ import annotations

import torch
from torch import nn

from diverse_sampling.models.dct import DCTCodec, pad_history
from diverse_sampling.models.gcn import GraphConv, gcn_stack


class CVAE(nn.Module):
    def __init__(self, n_nodes: int, t_his: int, t_pred: int, dct_n: int = 10, hidden: int = 256,
                 z_dim: int = 64, enc_blocks: int = 4, dec_blocks: int = 4, dropout: float = 0.0):
        super().__init__()
        self.t_his, self.t_total, self.z_dim, self.n_nodes = t_his, t_his + t_pred, z_dim, n_nodes
        feat = 3 * dct_n
        self.codec = DCTCodec(self.t_total, dct_n)
        self.encoder = gcn_stack(2 * feat, hidden, n_nodes, enc_blocks, dropout)
        self.mean = nn.Linear(n_nodes * hidden, z_dim)
        self.logvar = nn.Linear(n_nodes * hidden, z_dim)
        self.decoder = gcn_stack(feat + z_dim, hidden, n_nodes, dec_blocks, dropout)
        self.out = GraphConv(hidden, feat, n_nodes)

    def condition(self, his: torch.Tensor) -> torch.Tensor:
        """History (B, t_his, D) -> condition features (B, n, 3*dct_n)."""
        return self.codec.encode(pad_history(his, self.t_total))

    def encode(self, cond: torch.Tensor, data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cond, data (B, n, 3*dct_n) -> mean, logvar (B, z)."""
        h = self.encoder(torch.cat([cond, data], dim=-1)).flatten(1)
        return self.mean(h), self.logvar(h)

    def decode(self, cond: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """cond (B, n, 3*dct_n), z (B, z) -> all t_total frames (B, T, D)."""
        zz = z[:, None, :].expand(-1, cond.shape[1], -1)
        feat = self.out(self.decoder(torch.cat([cond, zz], dim=-1))) + cond
        return self.codec.decode(feat)

    def forward(self, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass. window (B, T, D) -> prediction (B, T, D), mean (B, z), logvar (B, z)."""
        cond = self.condition(window[:, : self.t_his])
        mean, logvar = self.encode(cond, self.codec.encode(window))
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        return self.decode(cond, z), mean, logvar

    @torch.no_grad()
    def sample(self, his: torch.Tensor, nk: int) -> torch.Tensor:
        """Inference with z ~ N(0, I): history (B, t_his, D) -> (B, nk, T, D)."""
        cond = self.condition(his)
        B = his.shape[0]
        z = torch.randn(B * nk, self.z_dim, device=his.device, dtype=his.dtype)
        return self.decode(cond.repeat_interleave(nk, 0), z).reshape(B, nk, self.t_total, -1)
