"""From an observed history to K futures, with the t1 CVAE alone (z ~ N(0, I)) or through the t2 sampler.

Shapes: history (B, t_his, D), full windows (B, K, t_total, D), futures (B, K, t_pred, D); D = 3 n in metres.
"""

from __future__ import annotations

import torch

from diverse_sampling.models.cvae import CVAE
from diverse_sampling.models.sampler import DiverseSampler


def t2_predict(cvae: CVAE, sampler: torch.nn.Module, his: torch.Tensor, nk: int, share_eps: bool):
    """History (B, t_his, D) -> all frames of K samples (B, K, T, D), with the sampler's mean/logvar (B, K, z)."""
    cond = cvae.condition(his)
    z, mean, logvar = sampler(cond, nk, share_eps)
    B = his.shape[0]
    pred = cvae.decode(cond.repeat_interleave(nk, 0), z.reshape(B * nk, -1))
    return pred.reshape(B, nk, cvae.t_total, -1), mean, logvar


@torch.no_grad()
def sample_futures(cvae: CVAE, sampler: DiverseSampler | None, his: torch.Tensor, nk: int,
                   share_eps: bool = False) -> torch.Tensor:
    """K futures (B, K, t_pred, D) of each history (B, t_his, D): t1 with z ~ N(0, I), t2 through the sampler."""
    if sampler is None:
        full = cvae.sample(his, nk)
    else:
        full, _, _ = t2_predict(cvae, sampler, his, nk, share_eps)
    return full[:, :, cvae.t_his :]
