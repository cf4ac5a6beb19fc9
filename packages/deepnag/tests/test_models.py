"""Generator/critic shapes, the paper's parameter count, and the double-backward GRU."""

from __future__ import annotations

import re

import torch
from torch.autograd import gradcheck, gradgradcheck

from deepnag.models import DeepGANCritic, DeepNAGNet, DoubleBackwardGRU


def test_generator_shapes_pen_and_kinect():
    for n_classes, n_features in ((16, 2), (14, 63)):
        G = DeepNAGNet(n_classes, n_features, latent_dim=8, hidden=(8, 8, 16))
        labels = torch.arange(5) % n_classes
        z = G.sample_noise(5, 12)
        assert z.shape == (5, 12, 8)
        out = G(z, labels)
        assert out.shape == (5, 12, n_features)
        assert out.abs().max() <= 1.0  # tanh output, the range of the normalised data
        assert G.generate(labels, 7).shape == (5, 7, n_features)


def test_generator_paper_size_parameter_count():
    G = DeepNAGNet(14, 63)  # JK2017: 32 + 14 inputs, GRUs 128/256/512, linear to 63
    count = sum(p.numel() for p in G.parameters())
    gru = lambda i, h: 3 * h * (i + h) + 6 * h  # noqa: E731
    assert count == gru(46, 128) + gru(128, 256) + gru(256, 512) + 512 * 63 + 63
    assert 1.5e6 < count < 1.6e6  # "about 1.55 M" (deepnag.md §1.1)


def test_critic_shape_and_last_step_only():
    D = DeepGANCritic(4, 3, hidden=(6, 5, 4))
    x = torch.randn(7, 10, 3)
    y = torch.randint(0, 4, (7,))
    assert D(x, y).shape == (7,)
    # changing nothing but the input's last step changes the score; the GRUs are causal
    x2 = x.clone()
    x2[:, -1] += 1.0
    assert not torch.allclose(D(x, y), D(x2, y))


def test_double_backward_gru_matches_torch_gru():
    torch.manual_seed(0)
    ours = DoubleBackwardGRU(3, 5)
    ref = torch.nn.GRU(3, 5, batch_first=True)
    ref.load_state_dict(ours.state_dict())  # same parameter names and shapes as nn.GRU
    x = torch.randn(2, 6, 3)
    out, h = ours(x)
    ref_out, ref_h = ref(x)
    torch.testing.assert_close(out, ref_out, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h, ref_h[0], rtol=1e-5, atol=1e-6)


def test_double_backward_gru_gradgradcheck():
    torch.manual_seed(0)
    gru = DoubleBackwardGRU(2, 3).double()
    x = torch.randn(2, 4, 2, dtype=torch.float64, requires_grad=True)
    params = tuple(gru.parameters())

    def f(inp, *weights):
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        out, _ = torch.func.functional_call(gru, dict(zip(names, weights)), (inp,))
        return out

    inputs = (x, *(p.detach().clone().requires_grad_(True) for p in params))
    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def test_critic_gradient_penalty_double_backward_reaches_weights():
    torch.manual_seed(0)
    from deepnag.losses import gradient_penalty

    D = DeepGANCritic(3, 2, hidden=(4, 4, 4))
    real, fake = torch.randn(5, 6, 2), torch.randn(5, 6, 2)
    gp = gradient_penalty(D, real, fake, torch.tensor([0, 1, 2, 0, 1]))
    gp.backward()
    # every weight gets a second-order gradient (the output bias cannot: it does not change d D / d x)
    for name, p in D.named_parameters():
        if name != "out.bias":
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_shipped_pretrained_checkpoints_load_and_generate():
    from deepnag_testutils import PACKAGE

    from deepnag.evaluate import load_generator

    shipped = sorted((PACKAGE / "pretrained").glob("*.pt"))
    assert shipped, "no pretrained checkpoints shipped"
    for path in shipped:
        G, extra = load_generator(path)
        n_classes = len(extra["class_names"])
        out = G.generate(torch.arange(n_classes), extra["config"]["resample_n"])
        assert out.shape == (n_classes, extra["config"]["resample_n"], extra["n_features"])
        assert torch.isfinite(out).all()
        # the note says how far it was trained and where (README: "Shipped pretrained checkpoints")
        assert re.search(r"\d+ (epochs|generator steps)", extra["note"]) and "CPU" in extra["note"], extra["note"]
