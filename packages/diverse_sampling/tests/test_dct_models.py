import torch

from diverse_sampling.models import CVAE, DCTCodec, DiverseSampler, dct_matrix
from diverse_sampling.models.dct import pad_history
from diverse_sampling.models.gcn import GraphConv, GraphConvBlock, ResGCB


def test_dct_is_orthonormal_and_round_trips():
    m = dct_matrix(30)
    assert torch.allclose(m @ m.t(), torch.eye(30, dtype=m.dtype), atol=1e-10)
    codec = DCTCodec(30, 30)
    x = torch.randn(3, 30, 12)
    assert torch.allclose(codec.decode(codec.encode(x)), x, atol=1e-5)


def test_dct_row0_is_scaled_mean_and_feature_layout():
    codec = DCTCodec(8, 3)
    x = torch.zeros(1, 8, 6)  # 2 nodes x (x, y, z)
    x[0, :, 4] = 2.0  # node 1, y coordinate, constant
    f = codec.encode(x)
    assert f.shape == (1, 2, 9)  # [3 x-coeffs, 3 y-coeffs, 3 z-coeffs] per node
    expect = torch.zeros(1, 2, 9)
    expect[0, 1, 3] = 2.0 * 8**0.5  # DC coefficient of the y channel of node 1
    assert torch.allclose(f, expect, atol=1e-5)


def test_pad_history_repeats_last_frame():
    his = torch.arange(6.0).reshape(1, 3, 2)
    out = pad_history(his, 5)
    assert out.shape == (1, 5, 2) and torch.equal(out[0, 3], his[0, 2]) and torch.equal(out[0, 4], his[0, 2])


def test_gcn_shapes():
    x = torch.randn(4, 16, 30)
    assert GraphConv(30, 64, 16)(x).shape == (4, 16, 64)
    assert GraphConvBlock(30, 64, 16)(x).shape == (4, 16, 64)
    assert ResGCB(30, 16)(x).shape == (4, 16, 30)


def test_cvae_paper_size_and_shapes():
    m = CVAE(16, 25, 100, dct_n=10, hidden=256, z_dim=64, enc_blocks=4, dec_blocks=4)
    n_params = sum(p.numel() for p in m.parameters())
    assert abs(n_params - 1.777e6) < 1e3  # notes 2.3
    small = CVAE(16, 10, 20, dct_n=5, hidden=32, z_dim=8, enc_blocks=1, dec_blocks=1)
    w = torch.randn(3, 30, 48)
    pred, mean, logvar = small(w)
    assert pred.shape == (3, 30, 48) and mean.shape == (3, 8) and logvar.shape == (3, 8)
    small.eval()
    assert small.sample(w[:, :10], 5).shape == (3, 5, 30, 48)


def test_sampler_paper_size_shapes_and_gumbel_rows():
    big = DiverseSampler(16, 30, hidden=256, enc_blocks=2, n_bases=40, base_dim=128, ngamma_hidden=64, z_dim=64)
    n_params = sum(p.numel() for p in big.parameters())
    assert abs(n_params - 21.3e6) < 0.05e6  # notes 3.1
    s = DiverseSampler(16, 15, hidden=32, enc_blocks=1, n_bases=4, base_dim=16, ngamma_hidden=16, z_dim=8)
    w = s.gumbel_weights(3, 6, "cpu")
    assert w.shape == (3, 6, 4) and torch.allclose(w.sum(-1), torch.ones(3, 6))
    z, mean, logvar = s(torch.randn(3, 16, 15), nk=6, share_eps=True)
    assert z.shape == mean.shape == logvar.shape == (3, 6, 8)
    eps = (z - mean) / torch.exp(0.5 * logvar)  # shared eps: identical over the K samples
    assert torch.allclose(eps, eps[:, :1].expand_as(eps), atol=1e-4)
    z2, m2, lv2 = s(torch.randn(3, 16, 15), nk=6, share_eps=False)
    eps2 = (z2 - m2) / torch.exp(0.5 * lv2)
    assert not torch.allclose(eps2, eps2[:, :1].expand_as(eps2), atol=1e-3)


def test_t2_step_leaves_frozen_cvae_unchanged():
    from diverse_sampling.config import Config
    from diverse_sampling.losses import t2_loss
    from diverse_sampling.models import t2_predict

    torch.manual_seed(0)
    cvae = CVAE(16, 10, 20, dct_n=5, hidden=32, z_dim=8, enc_blocks=1, dec_blocks=1)
    cvae(torch.randn(4, 30, 48))  # move the BN running stats away from their init
    cvae.eval()
    for p in cvae.parameters():
        p.requires_grad_(False)
    before = {k: v.clone() for k, v in cvae.state_dict().items()}
    s = DiverseSampler(16, 15, hidden=32, enc_blocks=1, n_bases=4, base_dim=16, ngamma_hidden=16, z_dim=8)
    s_before = [p.clone() for p in s.parameters()]
    opt = torch.optim.Adam(s.parameters(), lr=1e-2)
    x = torch.randn(4, 30, 48)
    pred, mean, logvar = t2_predict(cvae, s, x[:, :10], 6, True)
    assert pred.shape == (4, 6, 30, 48)
    loss, _ = t2_loss(pred[:, :, 10:], x[:, 10:], mean, logvar, Config(eta=5.0))
    loss.backward()
    opt.step()
    assert all(torch.equal(before[k], v) for k, v in cvae.state_dict().items())
    assert any(not torch.equal(a, b) for a, b in zip(s_before, s.parameters()))
