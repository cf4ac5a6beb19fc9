import copy

import pytest
import torch

from cdiffgan.losses import diff_loss
from cdiffgan.models.diffgan import StyleDiffGAN, inner_optimise_analytic, inner_optimise_autograd, topk_time_mask
from cdiffgan.models.discriminator import VelocityPatchD
from cdiffgan.models.mixstage import BIG_MODULES, MixStAGE


def fake_batch(B=2, T=64, L=5, P=96, vocab=100, S=3, K=8):
    dur = torch.full((B, L), T // L)
    dur[:, -1] += T - dur.sum(1)
    return {"audio": torch.randn(B, 1, T, 64), "tokens": torch.randint(1, vocab, (B, L)), "durations": dur,
            "counts": torch.full((B,), L), "pose": torch.randn(B, T, P), "style": torch.arange(B) % S,
            "labels": torch.randint(K, (B, T))}


def test_paper_size_shapes():
    torch.manual_seed(0)
    G = MixStAGE()                                  # C=256, K=8, S=25, style 10, vocab 30522
    b = fake_batch(vocab=30522)
    h = G.trunk(b)
    assert h.shape == (2, 256, 64)
    o = G.head(h, b["style"], y=b["pose"])
    out, soft = o["pose"], o["soft"]
    assert out.shape == (2, 64, 96) and soft.shape == (2, 8, 64)
    assert o["cluster_logits"].shape == (2, 8, 64) and o["style_logits"].shape == o["style_logits_out"].shape == (2, 25)
    z = G.decoder(torch.cat([h, torch.zeros(2, 10, 64)], 1).repeat(1, 8, 1))
    assert z.shape == (2, 2048, 64)                 # z_l of the grounding shift
    assert G.pose_style_encoder(b["pose"]).shape == (2, 25)
    assert VelocityPatchD()(out).shape == (2, 12)
    assert G.audio_encoder.net(b["audio"]).shape == (2, 256, 8, 7)


def small():
    return MixStAGE(C=16, K=3, S=5, style_dim=4, vocab_size=100, heads=2, cluster_layers=1, decoder_layers=2)


def test_analytic_inner_loop_matches_autograd():
    torch.manual_seed(0)
    G = small()
    B, T = 2, 64
    z = torch.randn(B, 16 * 3, T)
    soft = torch.softmax(torch.randn(B, 3, T), 1)
    y = torch.randn(B, T, 96)
    za, la = inner_optimise_autograd(G, z, soft, y, 5, 1000.0)
    zb, lb = inner_optimise_analytic(G, z, soft, y, 5, 1000.0)
    torch.testing.assert_close(za, zb, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(la, lb, rtol=1e-5, atol=1e-6)
    assert (za - z).abs().max() > 1e-3                # it did move


def test_masked_diff_loss():
    z_l = torch.zeros(1, 4, 6)
    z_star = torch.zeros(1, 4, 6)
    z_star[0, :, 2] = 3.0
    z_star[0, :, 4] = 1.0
    M = topk_time_mask(z_l, z_star, 2)
    assert M.shape == (1, 1, 6) and M[0, 0].tolist() == [0, 0, 1, 0, 1, 0]
    z_hat = torch.zeros(1, 4, 6)
    # only masked frames count; the mean runs over all 24 elements: (4*9 + 4*1) / 24
    assert diff_loss(z_star, z_hat, M).item() == pytest.approx(40 / 24)
    z_hat[0, :, 0] = 100.0                             # an unmasked frame changes nothing
    assert diff_loss(z_star, z_hat, M).item() == pytest.approx(40 / 24)


def test_diffgan_freezes_all_but_big_modules():
    G = small()
    model = StyleDiffGAN(copy.deepcopy(G))
    for name, p in model.G.named_parameters():
        assert p.requires_grad == (name.split(".")[0] in BIG_MODULES), name
    assert not any(p.requires_grad for p in model.G_src.parameters())
    model.train()
    assert not model.G_src.training
    b = fake_batch(P=96, vocab=100, K=3)
    h = model.G.trunk(b)
    g = model.grounding_shift(h.detach(), b["style"], b["pose"], 3, 1000.0, 4)
    mask = g["mask"]
    diff_loss(g["z_star"], g["z_hat"], mask).backward()
    grads = {n.split(".")[0] for n, p in model.G.named_parameters() if p.grad is not None}
    assert grads == {"decoder"}                        # L_diff reaches the last decoder layer only
    assert mask.sum().item() == 2 * 4


def _tiny_bert(folder, vocab=100):
    """A randomly initialised 1-layer BERT saved like a downloaded bert-base-uncased folder (no download)."""
    transformers = pytest.importorskip("transformers")
    cfg = transformers.BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                  intermediate_size=64, max_position_embeddings=64)
    transformers.BertModel(cfg).save_pretrained(folder)
    return folder


def test_bert_text_encoder_masks_padding_and_trains(tmp_path):
    from cdiffgan.models.encoders import TextEncoder

    torch.manual_seed(0)
    enc = TextEncoder(C=16, vocab_size=100, kind="bert", bert_path=str(_tiny_bert(tmp_path / "bert"))).eval()
    tokens = torch.randint(1, 100, (2, 10))
    pad = torch.zeros(2, 10, dtype=torch.bool)
    pad[1, 7:] = True
    out = enc(tokens, pad)
    assert out.shape == (2, 16, 10)
    changed = tokens.clone()
    changed[1, 7:] = (changed[1, 7:] + 1) % 100  # padded tokens must not reach the real ones
    torch.testing.assert_close(enc(changed, pad)[1, :, :7], out[1, :, :7])
    assert not torch.allclose(enc(changed, torch.zeros_like(pad))[1, :, :7], out[1, :, :7])
    out.square().mean().backward()
    assert enc.bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0


def test_mixstage_with_bert_text_encoder(tmp_path):
    torch.manual_seed(0)
    G = MixStAGE(C=16, K=3, S=5, style_dim=4, vocab_size=100, heads=2, cluster_layers=1, decoder_layers=2,
                 text_encoder="bert", bert_path=str(_tiny_bert(tmp_path / "bert")))
    b = fake_batch(vocab=100, K=3)
    from cdiffgan.config import Config
    from cdiffgan.losses import generator_losses
    o = G.head(G.trunk(b), b["style"], y=b["pose"])
    assert o["pose"].shape == (2, 64, 96)
    generator_losses(Config(), o, b, 1.0)["G"].backward()
    assert G.text_encoder.bert.encoder.layer[0].attention.self.query.weight.grad is not None


@pytest.mark.fault(4, "-bert_path to a folder without BERT weights: one line")
def test_bert_path_without_weights_is_one_line_error(tmp_path):
    pytest.importorskip("transformers")
    from cdiffgan.models.encoders import TextEncoder
    from motionkit.errors import ConfigError

    with pytest.raises(ConfigError, match="not a folder with a BERT config.json"):
        TextEncoder(C=16, kind="bert", bert_path=str(tmp_path / "missing"))


@pytest.mark.fault(4, "BERT absent from the local cache (offline): one line, no download")
def test_bert_from_the_local_cache_or_a_clear_line(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from cdiffgan.models.encoders import load_bert
    from motionkit.errors import ConfigError

    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty_cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="not in the local Hugging Face cache"):
        load_bert("")


def test_step_checkpoint_with_bert_loads_without_the_folder(tmp_path, tiny_cfg):
    """final.pt keeps the BERT architecture: it loads after the BERT folder is gone."""
    import dataclasses
    import shutil

    from cdiffgan.data.clusters import Preprocessor
    from cdiffgan.models import build_discriminator, build_generator, load_step, save_step

    folder = _tiny_bert(tmp_path / "bert", vocab=3000)
    cfg = dataclasses.replace(tiny_cfg, text_encoder="bert", bert_path=str(folder))
    G, D = build_generator(cfg), build_discriminator(cfg)
    pre = Preprocessor.build(cfg.data_dir, cfg.speaker[:1], num_clusters=cfg.num_clusters, log=lambda *_: None)
    save_step(tmp_path / "final.pt", cfg, 1, G, D, pre)
    shutil.rmtree(folder)
    _, G2, _, _, _, _ = load_step(tmp_path / "final.pt")
    for (k, a), b in zip(G.state_dict().items(), G2.state_dict().values()):
        assert torch.equal(a, b), k


def test_original_weights_with_bert_read(tmp_path):
    """An original-format _weights.p holding a BERT text encoder (text_encoder.0.bert.*) loads into ours."""
    pytest.importorskip("transformers")
    from cdiffgan import compat

    bert = {"vocab_size": 100, "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 1,
            "intermediate_size": 32, "max_position_embeddings": 64}
    G = MixStAGE(C=16, K=3, S=5, style_dim=4, vocab_size=100, heads=2, cluster_layers=1, decoder_layers=2,
                 text_encoder="bert", bert_config=bert)
    path = tmp_path / "exp_0_cpk_m_speaker_['oliver']_model_JointLateClusterSoftStyle5_G_note_x_weights.p"
    torch.save({**compat.generator_to_original(G.state_dict(), "G."),
                **compat.discriminator_to_original(VelocityPatchD().state_dict())}, path)
    assert any(k.startswith("G.text_encoder.0.bert.") for k in torch.load(path, weights_only=True))
    read = compat.load_original_weights(path)
    sizes = compat.infer_sizes(read["G"])
    assert sizes["text_encoder"] == "bert" and sizes["hidden"] == 16 and sizes["num_clusters"] == 3
    assert compat.bert_config_of(read["G"])["hidden_size"] == 64
    G2 = MixStAGE(C=16, K=3, S=5, style_dim=4, vocab_size=100, heads=2, cluster_layers=1, decoder_layers=2,
                  text_encoder="bert", bert_config=bert)
    G2.load_state_dict(read["G"])
