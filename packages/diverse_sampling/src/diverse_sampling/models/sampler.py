"""Stage t2: the DiverseSampling sampler (notes 3.1).

cond (B, n, 3*dct_n)
  -> condition encoder: GCBlock(3*dct_n -> H) -> enc_blocks x ResGCB(H)                 (B, n, H)
  -> N_beta: Linear(n*H -> M*Dq) -> BatchNorm1d -> Tanh -> reshape: bases Bm              (B, M, Dq)
Gumbel-Softmax rows: W_k = softmax((pi + g) / tau), pi = 1/M, g ~ Gumbel(0, 1)             (B, K, M)
points P_k = W_k Bm                                                                        (B, K, Dq)
N_gamma: mean_k, logvar_k = MLP(P_k): Linear(Dq -> h) -> BN -> Tanh -> Linear(h -> z), separate weights
z_k = mean_k + exp(logvar_k / 2) * eps    (eps shared over k in training: Algorithm 1; quirk 2)
The z_k are decoded by the frozen t1 CVAE decoder.
"""

from __future__ import annotations

import torch
from torch import nn

from diverse_sampling.models.gcn import gcn_stack


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.Tanh(), nn.Linear(hidden, d_out))


class DiverseSampler(nn.Module):
    def __init__(self, n_nodes: int, cond_len: int, hidden: int = 256, enc_blocks: int = 2, n_bases: int = 40,
                 base_dim: int = 128, ngamma_hidden: int = 64, z_dim: int = 64, tau: float = 0.85,
                 dropout: float = 0.0):
        super().__init__()
        self.n_bases, self.base_dim, self.z_dim, self.tau = n_bases, base_dim, z_dim, tau
        self.condition_enc = gcn_stack(cond_len, hidden, n_nodes, enc_blocks, dropout)
        self.n_beta = nn.Sequential(nn.Linear(n_nodes * hidden, n_bases * base_dim),
                                    nn.BatchNorm1d(n_bases * base_dim), nn.Tanh())
        self.mean_head = _mlp(base_dim, ngamma_hidden, z_dim)
        self.logvar_head = _mlp(base_dim, ngamma_hidden, z_dim)

    def bases(self, cond: torch.Tensor) -> torch.Tensor:
        """cond (B, n, 3*dct_n) -> base matrix (B, M, Dq)."""
        h = self.condition_enc(cond).flatten(1)
        return self.n_beta(h).reshape(-1, self.n_bases, self.base_dim)

    def gumbel_weights(self, batch: int, nk: int, device, dtype=torch.float32) -> torch.Tensor:
        """(B, K, M) Gumbel-Softmax rows over uniform logits 1/M; every row sums to 1."""
        u = torch.rand(batch, nk, self.n_bases, device=device, dtype=dtype)
        g = -torch.log(-torch.log(u + 1e-20) + 1e-20)
        return torch.softmax((1.0 / self.n_bases + g) / self.tau, dim=-1)

    def forward(self, cond: torch.Tensor, nk: int, share_eps: bool = True):
        """cond (B, n, 3*dct_n) -> z (B, K, z), mean (B, K, z), logvar (B, K, z)."""
        B = cond.shape[0]
        points = self.gumbel_weights(B, nk, cond.device, cond.dtype) @ self.bases(cond)  # (B, K, Dq)
        flat = points.reshape(B * nk, -1)
        mean = self.mean_head(flat).reshape(B, nk, -1)
        logvar = self.logvar_head(flat).reshape(B, nk, -1)
        shape = (B, 1, self.z_dim) if share_eps else (B, nk, self.z_dim)
        eps = torch.randn(shape, device=cond.device, dtype=cond.dtype)
        return mean + torch.exp(0.5 * logvar) * eps, mean, logvar
