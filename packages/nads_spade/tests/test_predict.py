import json

import numpy as np
import torch
from PIL import Image

from motionkit.errors import run_cli
from nads_spade.compat import save_project_weights
from nads_spade.data.synthetic import render_scene
from nads_spade.main import main
from nads_spade.models import build_nads
from nads_spade.train_nads import gan_augment_batch


def test_predict_writes_keypoints_pafs_belt_and_overlay(tiny_cfg, tmp_path, capsys):
    cfg = tiny_cfg(pvt_variant="project", fpn_wiring="original")
    weights = save_project_weights(build_nads(cfg), "nads", tmp_path / "traditionally_trained_NADS_Net_with_PVT.pth")
    img, _, _ = render_scene(np.random.default_rng(0), 200, 120, "narrow", 0.0)
    (tmp_path / "frames").mkdir()
    Image.fromarray(img).save(tmp_path / "frames" / "cabin.png")
    out = tmp_path / "pred"
    code = run_cli(main, ["predict", str(tmp_path / "frames"), "--config", "test_tiny", "--pvt_variant", "project",
                          "--fpn_wiring", "original", "--eval_checkpoint", str(weights), "--out", str(out),
                          "--peak_threshold", "0", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    record = json.loads((out / "cabin.json").read_text())
    assert (record["width"], record["height"]) == (200, 120) and len(record["keypoints"]) == 9
    x, y, score = record["keypoints"]["neck"][0]
    assert 0 <= x < 200 and 0 <= y < 120
    with Image.open(out / "cabin_overlay.png") as im:
        assert im.size == (200, 120)
    with Image.open(out / "cabin_belt.png") as im:
        assert im.size == (200, 120)
    assert np.load(out / "cabin_paf.npy").shape == (16, 16, 16)
    assert run_cli(main, ["predict", str(tmp_path / "nothing.png"), "--config", "test_tiny"]) == 2
    assert "nothing.png: no such image or folder" in capsys.readouterr().err


def test_half_slice_bug_leaves_the_last_real_sample_with_augmented_labels(tiny_cfg):
    torch.manual_seed(0)
    cfg = tiny_cfg(half_slice_bug=True, arm_augment_type="highly")
    G = lambda cond: torch.zeros(cond.shape[0], 3, *cond.shape[-2:])  # noqa: E731
    joints = torch.zeros(4, 1, 9, 3)
    for k, (x, y) in enumerate([(20, 40), (22, 30), (24, 18), (32, 14), (40, 18), (42, 30), (44, 40), (26, 50),
                                (38, 50)]):
        joints[:, 0, k] = torch.tensor([x, y, 2.0])
    joints[..., :2] *= 2.0  # torso above the 70 px (at 384) threshold at 64 px
    _, labels, _, _ = gan_augment_batch(cfg, G, torch.rand(4, 3, 64, 64), joints, torch.zeros(4, 1, 64, 64), "cpu")
    assert torch.equal(labels[2], joints[2])            # real, own labels
    assert not torch.equal(labels[3], joints[3])        # real image, augmented labels (the project's slice)
    _, fixed, _, _ = gan_augment_batch(tiny_cfg(arm_augment_type="highly"), G, torch.rand(4, 3, 64, 64), joints,
                                       torch.zeros(4, 1, 64, 64), "cpu")
    assert torch.equal(fixed[3], joints[3])
