"""Run the original's Mix-StAGE generator and discriminator beside ours on the same weights and inputs (CPU).

Needs a checkout of the original (github chahuja/cdiffgan or pratikmjoshi/cdiffgan) and ``transformers``:

    python packages/cdiffgan/bench/compare_original.py --original /path/to/cdiffgan/src

The original does not import as shipped (``model/__init__`` imports missing modules, ``pycasper`` and
``soft_dtw_cuda`` are absent), so only ``model/layers.py``, ``model/speech2gesture.py`` and
``model/joint_late_cluster_soft_style.py`` are loaded, with stand-ins for ``pycasper.torchUtils.some_grad`` and
``soft_dtw_cuda``; ``BertModel.from_pretrained`` returns a randomly initialised 1-layer BERT (hidden 768, as the
original's Linear(768, 256) needs) that returns tuples as transformers 2.5 did. The original's state dict is saved
as its ``_weights.p`` (``G.*``/``D.*``), read back by ``cdiffgan.compat``, and both models run in eval mode.
Prints the max absolute difference of the outputs (sampling and training forward, internal losses, D scores).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import tempfile
import types
from pathlib import Path

import torch


def _stubs():
    sd = types.ModuleType("soft_dtw_cuda")
    sd.SoftDTW = sd.SoftDTW_DBS = object
    sys.modules["soft_dtw_cuda"] = sd
    pc = types.ModuleType("pycasper")
    tu = types.ModuleType("pycasper.torchUtils")

    @contextlib.contextmanager
    def some_grad(module):
        flags = [p.requires_grad for p in module.parameters()]
        for p in module.parameters():
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p, f in zip(module.parameters(), flags):
                p.requires_grad_(f)

    tu.some_grad = some_grad
    sys.modules["pycasper"], sys.modules["pycasper.torchUtils"] = pc, tu
    import transformers

    def tiny(*_a, **_k):
        cfg = transformers.BertConfig(vocab_size=1000, hidden_size=768, num_hidden_layers=1, num_attention_heads=12,
                                      intermediate_size=256, return_dict=False)
        return transformers.BertModel(cfg)

    transformers.BertModel.from_pretrained = staticmethod(tiny)
    return {"vocab_size": 1000, "hidden_size": 768, "num_hidden_layers": 1, "num_attention_heads": 12,
            "intermediate_size": 256}


def load_original(src: Path):
    """Import the original's model files as a package named ``origmodel``."""
    pkg = types.ModuleType("origmodel")
    pkg.__path__ = [str(src / "model")]
    sys.modules["origmodel"] = pkg
    return (importlib.import_module("origmodel.joint_late_cluster_soft_style"),
            importlib.import_module("origmodel.speech2gesture"))


def inputs(B=3, T=64, L=9, vocab=1000, S=4, K=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    counts = torch.tensor([L, L - 3, L - 1][:B])
    dur = torch.zeros(B, L, dtype=torch.long)
    for b in range(B):
        n = int(counts[b])
        cuts = torch.sort(torch.randperm(T - 1, generator=g)[: n - 1] + 1).values
        edges = torch.cat([torch.tensor([0]), cuts, torch.tensor([T])])
        dur[b, :n] = edges[1:] - edges[:-1]
    tokens = torch.randint(1, vocab, (B, L), generator=g)
    tokens[torch.arange(L)[None] >= counts[:, None]] = 0
    return {"audio": torch.randn(B, T, 64, generator=g), "tokens": tokens, "durations": dur, "counts": counts,
            "pose": torch.randn(B, T, 96, generator=g), "style": torch.randint(S, (B,), generator=g),
            "labels": torch.randint(K, (B, T), generator=g)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--original", required=True, help="the original's src/ folder (holding model/layers.py)")
    args = ap.parse_args(argv)
    _stubs()
    jl, s2g = load_original(Path(args.original))
    from cdiffgan import compat
    from cdiffgan import losses as L
    from cdiffgan.config import Config
    from cdiffgan.original_step import load_previous

    torch.manual_seed(0)
    S = 4
    Go = jl.JointLateClusterSoftStyle5_G(in_channels=256, out_feats=96, num_clusters=8, style_dict={i: i for i in
                                         range(S)}, style_dim=10, lambda_id=0.1, train_only=1, argmax=1,
                                         some_grad_flag=1, max_num_speakers=25,
                                         shape={"text/tokens": None, "audio/log_mel_400": None})
    Do = s2g.Speech2Gesture_D(in_channels=96)
    for m in list(Go.modules()) + list(Do.modules()):       # non-trivial BatchNorm statistics
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
    Go.eval()
    Do.eval()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exp_0_cpk_x_speaker_['oliver']_model_JointLateClusterSoftStyle5_G_note_t1_weights.p"
        torch.save({**{"G." + k: v for k, v in Go.state_dict().items()},
                    **{"D." + k: v for k, v in Do.state_dict().items()}}, path)
        print("sizes read from the weights:", compat.infer_sizes(compat.load_original_weights(path)["G"]))
        # the loader of `train -pretrained_model_weights`: sizes and BERT architecture from the file
        G, D = load_previous(path, Config(text_encoder="bert", bert_padding="token_type_ids"), "cpu")
    G.eval()
    D.eval()
    b = inputs(S=S)
    kw = {"input_modalities": ["audio/log_mel_400", "text/tokens"], "text/token_duration": b["durations"],
          "text/token_count": b["counts"], "sample_flag": False}
    style_bt = b["style"][:, None].expand(-1, 64)
    x = [b["audio"].clone(), b["tokens"].clone(), b["labels"]]
    ours_b = dict(b, audio=b["audio"][:, None])
    rows = []
    with torch.no_grad():
        out_o, _ = Go([t.clone() for t in x], b["pose"], description="dev", style=style_bt, **kw)
        out_s = G.sample(ours_b)
        rows.append(("sampling output (B,64,96)", (out_o - out_s).abs().max().item(), out_o.abs().max().item()))
        out_o, il = Go([t.clone() for t in x], b["pose"], description="train", style=style_bt, **kw)
        o = G(ours_b)
        rows.append(("training forward output", (out_o - o["pose"]).abs().max().item(), out_o.abs().max().item()))
        ours_terms = {"cluster": L.cluster_loss(o["cluster_logits"], b["labels"]),
                      "id_in": 0.1 * L.identity_loss(o["style_logits"], b["style"]),
                      "id_out": 0.1 * L.identity_loss(o["style_logits_out"], b["style"])}
        for name, vo in zip(("cluster", "id_in", "id_out"), il):
            rows.append((f"internal loss {name}", abs(vo.item() - ours_terms[name].item()), abs(vo.item())))
        rows.append(("cluster soft labels", (Go.labels_cap_soft - o["soft"].transpose(1, 2)).abs().max().item(), 1.0))
        vel = torch.cat([torch.zeros_like(out_o[:, :1]), out_o[:, 1:] - out_o[:, :-1]], 1)
        d_o, _ = Do(vel)
        rows.append(("discriminator scores (B,12)", (d_o - D(out_o)).abs().max().item(), d_o.abs().max().item()))
    print(f"{'quantity':<30}{'max |orig - ours|':>20}{'max |orig|':>14}")
    for name, diff, scale in rows:
        print(f"{name:<30}{diff:>20.3e}{scale:>14.3e}")
    return 0 if all(d <= 1e-4 * max(1.0, s) for _, d, s in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
