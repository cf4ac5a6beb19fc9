"""The project's weight files: written here from our tiny models under its names, loaded back, trained from."""

import pickle

import pytest
import torch

from motionkit.errors import CheckpointError, ConfigError
from nads_spade.compat import read_weights, save_project_weights
from nads_spade.models import (
    build_discriminator,
    build_generator,
    build_nads,
    load_discriminator,
    load_generator,
    load_nads,
)

PROJECT = {"pvt_variant": "project", "fpn_wiring": "original"}


def test_project_nadsnet_file_names_and_outputs(tiny_cfg, tmp_path):
    cfg = tiny_cfg(**PROJECT)
    net = build_nads(cfg).eval()
    path = save_project_weights(net, "nads", tmp_path / "traditionally_trained_NADS_Net_with_PVT.pth")
    state = torch.load(path, weights_only=True)
    for key in ("PVT.pos_embed_1", "PVT.cls_token", "PVT.head.weight", "FPN.output_layer_4.weight",
                "keypoint_heatmap_branch.convs_on_P5.2.weight", "PAF_branch.convs_on_feature_maps.4.bias",
                "seatbelt_segmentation_branch.conv_on_feature_maps.0.weight",
                "seatbelt_segmentation_branch.final_conv2.bias"):
        assert key in state
    assert state["PVT.pos_embed_1"].shape == (1, 16 * 16, 16)  # learned on the 64-px input grid, no cls slot
    loaded = load_nads(path, cfg)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(net(x), loaded(x)))
    with pytest.raises(CheckpointError, match="pvt_variant project"):
        load_nads(path, tiny_cfg(fpn_wiring="original"))
    with pytest.raises(ConfigError, match="fpn_wiring original"):
        load_nads(path, tiny_cfg(pvt_variant="project"))


def test_project_gan_files_load(tiny_cfg, tmp_path):
    cfg = tiny_cfg()
    d = build_discriminator(cfg).eval()
    state = torch.load(save_project_weights(d, "D", tmp_path / "latest_net_D.pth"), weights_only=True)
    assert {"discriminator_1.model0.0.weight", "discriminator_0.model1.0.0.weight_orig",
            "discriminator_0.model4.0.bias"} <= set(state)
    assert "discriminator_0.model1.0.0.bias" not in state  # spectral-instance layers have no bias there
    x = torch.randn(1, 29, 64, 64)
    with torch.no_grad():
        assert torch.equal(d(x)[1][-1], load_discriminator(tmp_path / "latest_net_D.pth", cfg)(x)[1][-1])
    g = build_generator(cfg).eval()
    torch.save({"module." + k: v for k, v in g.state_dict().items()}, tmp_path / "latest_net_G.pth")
    cond = torch.rand(1, 26, 64, 64)
    with torch.no_grad():
        assert torch.equal(g(cond), load_generator(tmp_path / "latest_net_G.pth", cfg)(cond))
    with pytest.raises(CheckpointError, match="latest_net_D.pth: lacks .* the project.s latest_net_G.pth"):
        load_generator(tmp_path / "latest_net_D.pth", cfg)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def _evil_zip(path):
    torch.save({"fc.weight": Payload()}, path)


def _broken_zip(path):
    path.write_bytes(b"PK\x03\x04 truncated")


def _legacy_pickle(path):
    with open(path, "wb") as f:
        pickle.dump(Payload(), f)


@pytest.mark.parametrize("write, problem", [(_evil_zip, "refused: holds 'builtins.print'"),
                                            (_broken_zip, "damaged"), (_legacy_pickle, "refused|not a readable")],
                         ids=["foreign-class", "broken-zip", "legacy-pickle"])
@pytest.mark.fault(4, "a weight file with a foreign class or a broken container (restricted unpickler)")
def test_restricted_unpickler_refuses_other_classes_in_one_line(tmp_path, capsys, write, problem):
    path = tmp_path / "latest_net_G.pth"
    write(path)
    with pytest.raises(CheckpointError, match=problem) as e:
        read_weights(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    assert "never run" not in capsys.readouterr().out


def test_train_evaluate_generate_from_the_project_files(tiny_cfg, tmp_path):
    from nads_spade.evaluate import evaluate_nads, generate
    from nads_spade.train_nads import train_nads

    cfg = tiny_cfg(**PROJECT)
    nads_file = save_project_weights(build_nads(cfg), "nads", tmp_path / "traditionally_trained_NADS_Net_with_PVT.pth")
    g_file = save_project_weights(build_generator(cfg), "G", tmp_path / "latest_net_G.pth")
    run = train_nads(tiny_cfg(**PROJECT, nads_init=str(nads_file), gan_augment=True, gan_checkpoint=str(g_file),
                              max_steps=1))
    assert run["steps"] == 1
    metrics = evaluate_nads(cfg, str(nads_file), "test")
    assert 0 <= metrics["pck_mean"] <= 1
    out = generate(tiny_cfg(**PROJECT, gan_checkpoint=str(g_file)), str(tmp_path / "gen"), n=1)
    assert len(list(out.glob("sample_*.png"))) == 1
