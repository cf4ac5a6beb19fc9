import pytest
import torch

from motionkit.errors import CheckpointError
from nads_spade.models.discriminator import MultiscaleDiscriminator
from nads_spade.models.fpn import FPN
from nads_spade.models.nadsnet import NADSNet
from nads_spade.models.pvt import PVT
from nads_spade.models.spade import SPADEGenerator
from nads_spade.models.vgg19 import VGG19


def n_params(m):
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


@torch.no_grad()
def test_pvt_tiny_parameter_count_and_stage_shapes_at_384():
    pvt = PVT().eval()
    assert abs(n_params(pvt) / 1e6 - 12.71) < 0.01
    feats = pvt(torch.randn(1, 3, 384, 384))
    assert [tuple(f.shape[1:]) for f in feats] == [(64, 96, 96), (128, 48, 48), (320, 24, 24), (512, 12, 12)]


def test_pvt_loads_official_key_names_and_resizes_pos_embed(tmp_path):
    small = dict(embed_dims=(16, 32, 48, 64), num_heads=(1, 2, 3, 4), mlp_ratios=(2, 2, 2, 2), depths=(1, 1, 1, 1))
    src = PVT(**small)
    state = dict(src.state_dict())
    # the official classification checkpoint also has cls token, final norm and head; wrapped in {'model': ...}
    state.update({"cls_token": torch.zeros(1, 1, 64), "norm.weight": torch.ones(64), "norm.bias": torch.zeros(64),
                  "head.weight": torch.zeros(1000, 64), "head.bias": torch.zeros(1000)})
    for key in ("patch_embed1.proj.weight", "pos_embed1", "pos_embed4", "block1.0.attn.q.weight",
                "block1.0.attn.kv.weight", "block1.0.attn.sr.weight", "block1.0.attn.norm.weight",
                "block4.0.mlp.fc2.bias", "block2.0.norm1.weight"):
        assert key in state
    assert state["pos_embed1"].shape == (1, 3136, 16) and state["pos_embed4"].shape == (1, 50, 64)
    torch.save({"model": state}, tmp_path / "pvt_tiny.pth")
    dst = PVT(**small)
    assert dst.load_official(str(tmp_path / "pvt_tiny.pth")) == []
    assert torch.equal(dst.pos_embed2, src.pos_embed2)
    # positional embeddings: identity at 224, bilinear to the 384 grids (96, 48, 24, 12)
    assert torch.equal(dst._pos(0, 56, 56), dst.pos_embed1)
    assert dst._pos(0, 96, 96).shape == (1, 96 * 96, 16) and dst._pos(3, 12, 12).shape == (1, 144, 64)
    with torch.no_grad():
        assert dst.eval()(torch.randn(1, 3, 96, 96))[0].shape == (1, 16, 24, 24)


@pytest.mark.parametrize("wiring", ["standard", "original"])
def test_fpn_and_nadsnet_shapes(wiring):
    feats = [torch.randn(2, c, s, s) for c, s in ((16, 16), (32, 8), (48, 4), (64, 2))]
    pyr = FPN((16, 32, 48, 64), 8, wiring)(feats)
    assert [tuple(p.shape) for p in pyr] == [(2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4), (2, 8, 2, 2)]
    net = NADSNet((16, 32, 48, 64), (1, 2, 3, 4), (2, 2, 2, 2), (1, 1, 1, 1), fpn_channels=8, fpn_wiring=wiring,
                  head_channels=8)
    heat, paf, belt = net(torch.randn(2, 3, 64, 64))
    assert heat.shape == (2, 9, 16, 16) and paf.shape == (2, 16, 16, 16) and belt.shape == (2, 1, 64, 64)
    assert 0 <= belt.min() and belt.max() <= 1


def test_nadsnet_parameter_count_at_paper_size():
    net = NADSNet()
    counts = {k: n_params(getattr(net, k)) / 1e6 for k in ("backbone", "fpn", "heat_branch", "paf_branch",
                                                             "belt_branch")}
    assert abs(counts["fpn"] - 2.62) < 0.01 and abs(counts["heat_branch"] - 5.31) < 0.01
    assert abs(counts["belt_branch"] - 2.40) < 0.01 and abs(n_params(net) / 1e6 - 28.36) < 0.05


@torch.no_grad()
def test_spade_generator_full_size_params_and_output():
    g = SPADEGenerator(label_nc=26, ngf=64, crop_size=384).eval()
    assert abs(n_params(g) / 1e6 - 92.75) < 0.02
    out = g(torch.rand(1, 26, 384, 384))
    assert out.shape == (1, 3, 384, 384) and out.abs().max() <= 1


@torch.no_grad()
def test_discriminator_patch_shapes_and_params():
    d = MultiscaleDiscriminator(29, 64, 4, 2)
    assert abs(n_params(d) / 1e6 - 5.58) < 0.01
    outs = d(torch.randn(1, 29, 384, 384))
    assert len(outs) == 2 and all(len(o) == 5 for o in outs)
    assert outs[0][-1].shape == (1, 1, 51, 51) and outs[1][-1].shape == (1, 1, 27, 27)


def test_vgg19_loads_torchvision_key_names(tmp_path):
    convs = [(0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256),
             (14, 256, 256), (16, 256, 256), (19, 256, 512), (21, 512, 512), (23, 512, 512), (25, 512, 512),
             (28, 512, 512), (30, 512, 512), (32, 512, 512), (34, 512, 512)]
    state = {}
    for i, cin, cout in convs:
        state[f"features.{i}.weight"] = torch.randn(cout, cin, 3, 3)
        state[f"features.{i}.bias"] = torch.randn(cout)
    state.update({"classifier.0.weight": torch.zeros(4, 4), "classifier.0.bias": torch.zeros(4),
                  "classifier.6.weight": torch.zeros(2, 4), "classifier.6.bias": torch.zeros(2)})
    torch.save(state, tmp_path / "vgg19-dcbb9e9d.pth")
    vgg = VGG19()
    vgg.load_torchvision(str(tmp_path / "vgg19-dcbb9e9d.pth"))
    assert torch.equal(vgg.features[28].weight, state["features.28.weight"])
    feats = vgg(torch.randn(1, 3, 32, 32))
    assert [f.shape[1] for f in feats] == [64, 128, 256, 512, 512]
    del state["features.19.weight"]
    with pytest.raises(CheckpointError, match="lacks VGG19 tensors"):
        VGG19().load_torchvision(state)


def test_vgg_loss_off_with_warning_without_weights():
    from nads_spade.losses import VGGLoss

    with pytest.warns(UserWarning, match="VGG perceptual loss is off"):
        loss = VGGLoss("")
    assert not loss.enabled and loss(torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)).item() == 0.0
    on = VGGLoss("", allow_random=True)
    assert on(torch.zeros(1, 3, 32, 32), torch.ones(1, 3, 32, 32)).item() > 0
