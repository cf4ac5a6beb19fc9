import dataclasses
import json

import pytest
import torch

from cdiffgan.continual import continual
from cdiffgan.data.clusters import Preprocessor
from cdiffgan.models import build_generator, load_step
from cdiffgan.models.diffgan import StyleDiffGAN
from cdiffgan.models.discriminator import VelocityPatchD
from cdiffgan.models.mixstage import BIG_MODULES
from cdiffgan.replay import FewshotBuffer, build_replay_batch, replay_rows
from cdiffgan.train import train_tn


def _pre(cfg):
    return Preprocessor.build(cfg.data_dir, cfg.speaker[:1], num_clusters=cfg.num_clusters, log=lambda *_: None)


def test_replay_rows_composition(tiny_cfg):
    cfg = dataclasses.replace(tiny_cfg, replay="pseudo-align-fs-src", k_shot=4, batch_size_tn=32)
    old, new, pivot = replay_rows(cfg, 3, 8, 12, 32)
    assert len(new) == 32 // 3 and len(old) == 32 - 32 // 3 and pivot == len(old)
    assert old.max() < 8 and new.min() >= 8 and new.max() < 12
    _, _, p = replay_rows(dataclasses.replace(cfg, replay="pseudo-fs-src"), 3, 8, 12, 32)
    assert p == 0
    old, new, p = replay_rows(dataclasses.replace(cfg, replay="no-replay-fs"), 3, 0, 4, 32)
    assert len(old) == 0 and len(new) == 32 and new.max() < 4 and p == 0
    old, _, _ = replay_rows(dataclasses.replace(cfg, replay="pseudo-align-fs-tgt"), 3, 8, 12, 32)
    assert old.min() >= 8
    # the original draws uniformly over the buffer in the non-align modes (gan.py get_idx_subset)
    old, new, p = replay_rows(dataclasses.replace(cfg, replay="random-fs", replay_split="original"), 3, 8, 12, 32,
                              torch.Generator().manual_seed(0))
    assert len(old) + len(new) == 32 and p == 0 and (old < 8).all() and (new >= 8).all()
    assert abs(len(new) - 32 / 3) < 8


def test_pseudo_label_replay_batch(tiny_cfg):
    torch.manual_seed(0)
    cfg = tiny_cfg
    pre = _pre(cfg)
    model = StyleDiffGAN(build_generator(cfg)).train()
    buf = FewshotBuffer(cfg, pre, cfg.speaker, "cpu")
    batch, pivot, rows = build_replay_batch(cfg, model, buf, pre, 3, "cpu")
    n_old = pivot
    assert n_old == cfg.batch_size_tn - cfg.batch_size_tn // 3
    assert (batch["style"][:n_old] < 2).all() and (batch["style"][n_old:] == 2).all()
    # old rows: G_src's output on the stored real inputs; new rows: ground truth
    expect = model.pseudo_labels({k: v[:n_old] for k, v in batch.items()})
    torch.testing.assert_close(batch["target"][:n_old], expect)
    torch.testing.assert_close(batch["target"][n_old:], batch["pose"][n_old:])
    assert not torch.allclose(batch["target"][:n_old], batch["pose"][:n_old])


class SpyD(VelocityPatchD):
    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.sizes = []

    def forward(self, pose):
        self.sizes.append(pose.shape[0])
        return super().forward(pose)


@pytest.mark.parametrize("cached", [False, True])
def test_only_new_rows_reach_D_and_trunk_frozen(tiny_cfg, tmp_path, cached):
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny_cfg, num_epochs_tn=1, num_training_iters=4, cache_frozen=cached)
    pre = _pre(cfg)
    G = build_generator(cfg)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    D = SpyD(G.P)
    res = train_tn(cfg, pre, G, D, cfg.speaker, tmp_path / "s", "cpu")
    n_new = cfg.batch_size_tn // 3
    assert D.sizes and set(D.sizes) == {n_new}
    after = res.G.state_dict()
    for k, v in before.items():
        if k.split(".")[0] in ("text_encoder", "audio_encoder", "fusion", "unet") and "running" not in k \
                and "num_batches" not in k:
            torch.testing.assert_close(after[k], v, msg=k)
    moved = {k.split(".")[0] for k, v in before.items() if v.is_floating_point() and not torch.equal(after[k], v)}
    assert moved & set(BIG_MODULES)


def _summary(run):
    out = {}
    for step_dir in sorted(run.glob("step*_*")):
        rows = [json.loads(x) for x in (step_dir / "metrics.jsonl").read_text().splitlines()]
        for k in ("G", "D", "rec", "diff"):
            if k in rows[-1]:
                out[f"{step_dir.name}/{k}"] = rows[-1][k]
        test = json.loads((step_dir / "test_metrics.json").read_text())
        for spk, vals in test.items():
            if spk.startswith("_") or "/" in spk:
                continue
            for m in ("pck", "FID", "L1", "F1"):
                out[f"{step_dir.name}/{spk}/{m}"] = vals[m]
    return out


def test_tiny_continual_golden_and_resume(tiny_cfg, tmp_path, golden):
    """Fixed-seed tiny continual run (3 synthetic speakers) against golden losses and metrics; a run killed in
    the middle of step 2 resumes and ends exactly where the uninterrupted run did."""
    from cdiffgan.evaluate import summarise
    run = continual(tiny_cfg, log=lambda *_: None)
    summarise(run, print_fn=lambda *_: None)
    full = _summary(run)
    golden.check("tiny_continual", full, rtol=2e-3, atol=1e-5)
    assert (run / "continual_table.csv").exists() and (run / "continual_plot.png").exists()
    cfg, G, D, pre, speakers, step = load_step(run / "step3_chemistry" / "final.pt")
    assert speakers == ["oliver", "maher", "chemistry"] and step == 3

    cfg2 = dataclasses.replace(tiny_cfg, log_dir=str(tmp_path / "again"))
    assert continual(cfg2, interrupt=(2, 1), log=lambda *_: None) is None
    killed = tmp_path / "again" / "cdiffgan" / "tiny_pseudo-align-fs-src_k3_fs1"
    assert (killed / "step2_maher" / "last.pt").exists()
    assert not (killed / "step2_maher" / "final.pt").exists()
    run2 = continual(cfg2, resume="", log=lambda *_: None)
    assert run2 == killed
    resumed = _summary(run2)
    assert resumed.keys() == full.keys()
    for k in full:
        assert resumed[k] == pytest.approx(full[k], rel=1e-6, abs=1e-7), k


@pytest.mark.parametrize("replay", ["no-replay-fs", "random-fs", "pseudo-fs-src", "pseudo-fs-tgt",
                                    "pseudo-align-fs-tgt"])
def test_every_replay_mode_trains(tiny_cfg, tmp_path, replay):
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny_cfg, replay=replay, num_epochs_tn=1, num_training_iters=2, dg_iter_ratio=0,
                              cache_frozen=replay.endswith("tgt"), eval_windows=1)
    pre = _pre(cfg)
    G = build_generator(cfg)
    D = SpyD(G.P)
    res = train_tn(cfg, pre, G, D, cfg.speaker, tmp_path / "s", "cpu")
    hist = res.history
    assert hist["G"][-1][1] > 0 and hist["diff"][-1][1] >= 0
    n_new = cfg.batch_size_tn // 3
    expect = n_new if "align" in replay else cfg.batch_size_tn
    assert set(D.sizes) == {expect}


@pytest.mark.parametrize("replay, gan", [("random-full", "diffgan"), ("no-replay-full", "diffgan"),
                                         ("pseudo-align-fs-src", "gan"), ("pseudo-align-fs-src", "align_gan")])
def test_full_replay_modes_and_finetuning_baselines(tiny_cfg, tmp_path, replay, gan):
    """random-full / no-replay-full read every train window; gan / align_gan fine-tune all of Mix-StAGE
    (StyleAdaptiveGAN) without the grounding shift; align_gan keeps old rows from D, gan does not."""
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny_cfg, replay=replay, gan=gan, num_epochs_tn=1, num_training_iters=4,
                              eval_windows=1, replay_split="original")
    pre = _pre(cfg)
    G = build_generator(cfg)
    trunk = {k: v.clone() for k, v in G.state_dict().items() if k.startswith("unet.") and "conv.weight" in k}
    D = SpyD(G.P)
    res = train_tn(cfg, pre, G, D, cfg.speaker, tmp_path / "s", "cpu")
    hist = res.history
    assert hist["G"][-1][1] > 0
    assert ("diff" in hist) == (gan == "diffgan")
    moved = any(not torch.equal(res.G.state_dict()[k], v) for k, v in trunk.items())
    assert moved == (gan != "diffgan")                      # the baselines train the trunk too
    n = cfg.batch_size_tn
    if gan == "align_gan":
        assert set(D.sizes) == {n // 3}
    elif gan == "gan" or replay.endswith("full"):
        assert set(D.sizes) == {n}


def test_full_buffer_holds_every_window(tiny_cfg):
    from cdiffgan.data.pats import PatsData
    cfg = dataclasses.replace(tiny_cfg, replay="random-full")
    buf = FewshotBuffer(cfg, _pre(cfg), cfg.speaker, "cpu")
    assert len(buf) == len(PatsData(cfg.data_dir, cfg.speaker, "train", cfg.window_hop))
    assert buf.style[buf.new_lo] == 2 and buf.style[buf.new_lo - 1] == 1
    cfg = dataclasses.replace(tiny_cfg, replay="no-replay-full")
    buf = FewshotBuffer(cfg, _pre(cfg), cfg.speaker, "cpu")
    assert set(buf.style.tolist()) == {2} and buf.new_lo == 0


def test_original_fewshot_sampler_one_generator(syn_dir):
    """The original: one generator seeded with fewshot_seed draws randint(lo, hi, k) per speaker in list order."""
    from cdiffgan.data.fewshot import fewshot_indices
    from cdiffgan.data.pats import PatsData
    d = PatsData(syn_dir, ["oliver", "maher"], "train", 5)
    got = fewshot_indices(d.ranges, ["oliver", "maher"], 4, 1, "original")
    g = torch.Generator().manual_seed(1)
    want = []
    for spk in ("oliver", "maher"):
        want += torch.randint(*d.ranges[spk], (4,), generator=g).tolist()
    assert got == want
    only_new = fewshot_indices(d.ranges, ["maher"], 4, 1, "original")     # no-replay-fs: the first draw
    assert only_new == torch.randint(*d.ranges["maher"], (4,), generator=torch.Generator().manual_seed(1)).tolist()
