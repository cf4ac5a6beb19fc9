"""Side by side with the original code: released-format files written from our models, loaded by the ORIGINAL
modules with their own ``load_state_dict(torch.load(f)["model"])``, and the same inputs run through both.

    git clone https://github.com/Droliven/diverse_sampling /path/to/original
    python packages/diverse_sampling/bench/original_side_by_side.py --original /path/to/original

Imports only the original's ``h36m/nets``, ``h36m/datas/dct.py`` and ``fid_acc/classifier.py`` (torch only); runs on
CPU at the paper's H36M sizes and prints the max |ours - original| of each stage.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

import torch

from diverse_sampling import compat
from diverse_sampling.models import CVAE, ActionClassifier, DiverseSampler


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _randomise_bn(model: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.BatchNorm1d):
                mod.running_mean.normal_(0, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.normal_(1, 0.1)
                mod.bias.normal_(0, 0.1)
    return model.eval()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--original", required=True, type=Path, help="a clone of Droliven/diverse_sampling")
    args = p.parse_args()
    sys.path.insert(0, str(args.original))
    from h36m.datas.dct import dct_transform_torch, get_dct_matrix, reverse_dct_torch
    from h36m.nets import CVAE as OriginalCVAE
    from h36m.nets import DiverseSampling as OriginalSampler

    clf_mod = _module(args.original / "fid_acc" / "classifier.py", "original_classifier")

    torch.manual_seed(0)
    t_his, t_pred, dct_n, nk, B = 25, 100, 10, 50, 4
    T = t_his + t_pred
    ours = {"cvae": _randomise_bn(CVAE(16, t_his, t_pred, dct_n, 256, 64, 4, 4)),
            "sampler": _randomise_bn(DiverseSampler(16, 3 * dct_n, 256, 2, 40, 128, 64, 64, 0.85)),
            "classifier": ActionClassifier(48, 15, 128, 2, 30).eval()}
    orig = {"cvae": OriginalCVAE(16, 256, 64, dct_n), "sampler": OriginalSampler(16, 256, 128, 64, dct_n, 40),
            "classifier": clf_mod.ClassifierForAcc(48, 128, 2, 15, device="cpu"),
            "fid": clf_mod.ClassifierForFID(48, 128, 2, 15, device="cpu")}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, model in ours.items():
            path = compat.write_original(Path(tmp) / f"{kind}.pth", model.state_dict(), kind)
            state = torch.load(path, map_location="cpu", weights_only=False)["model"]  # as the original loads
            orig[kind].load_state_dict(state)
            if kind == "classifier":
                orig["fid"].load_state_dict(state)
    for m in orig.values():
        m.eval()
    print("parameters (ours / original): CVAE", sum(p.numel() for p in ours["cvae"].parameters()),
          sum(p.numel() for p in orig["cvae"].parameters()), " sampler",
          sum(p.numel() for p in ours["sampler"].parameters()), sum(p.numel() for p in orig["sampler"].parameters()))

    dct_m, idct_m = (torch.from_numpy(a).float() for a in get_dct_matrix(T))
    win = torch.randn(B, T, 48) * 0.3  # ours (B, T, D); the original's layout is (B, D, T)
    data = win.permute(0, 2, 1)
    with torch.no_grad():
        padded = data[:, :, list(range(t_his)) + [t_his - 1] * t_pred]
        cond_o = dct_transform_torch(padded, dct_m, dct_n).view(B, -1, 3 * dct_n)
        cond = ours["cvae"].condition(win[:, :t_his])
        diffs = {"condition DCT": (cond - cond_o).abs().max()}
        data_dct = dct_transform_torch(data, dct_m, dct_n).view(B, -1, 3 * dct_n)
        feat = orig["cvae"].enc(torch.cat((cond_o, data_dct), -1)).view(B, -1)
        mean, logvar = ours["cvae"].encode(cond, ours["cvae"].codec.encode(win))
        diffs["CVAE encoder mean/logvar"] = max((mean - orig["cvae"].mean(feat)).abs().max(),
                                                (logvar - orig["cvae"].logvar(feat)).abs().max())
        z = torch.randn(B * nk, 64)
        out_o = orig["cvae"].inference(torch.repeat_interleave(cond_o, nk, 0), z).reshape(B * nk, -1, dct_n)
        out_o = reverse_dct_torch(out_o, idct_m, T).view(B, nk, 48, T).permute(0, 1, 3, 2)
        out = ours["cvae"].decode(cond.repeat_interleave(nk, 0), z).reshape(B, nk, T, 48)
        diffs["CVAE decoder futures"] = (out - out_o).abs().max()
        u = torch.rand(B * nk, 1, 40)
        w = torch.softmax((1 / 40 - torch.log(-torch.log(u + 1e-20) + 1e-20)) / 0.85, -1)
        eps = torch.randn(B * nk, 64)
        z_o, _, _ = orig["sampler"](cond_o, repeated_eps=eps, many_weights=w, multi_modal_head=nk)
        points = (w.reshape(B, nk, 40) @ ours["sampler"].bases(cond)).reshape(B * nk, -1)
        z_s = ours["sampler"].mean_head(points) + torch.exp(0.5 * ours["sampler"].logvar_head(points)) * eps
        diffs["sampler z"] = (z_s - z_o).abs().max()
        full_o = orig["cvae"].inference(torch.repeat_interleave(cond_o, nk, 0), z_o).reshape(B * nk, -1, dct_n)
        full_o = reverse_dct_torch(full_o, idct_m, T).view(B, nk, 48, T).permute(0, 1, 3, 2)
        full = ours["cvae"].decode(cond.repeat_interleave(nk, 0), z_s).reshape(B, nk, T, 48)
        diffs["t2 futures (metres)"] = (full - full_o).abs().max()
        fut, h0 = full[0, :, t_his:], torch.randn(2, nk, 128)
        gru_out, _ = ours["classifier"].gru(fut, h0)
        f = torch.tanh(ours["classifier"].feat(gru_out[:, -1]))
        logits_o = orig["classifier"](fut.permute(0, 2, 1), h0)
        diffs["classifier logits"] = (ours["classifier"].cls(f) - logits_o).abs().max()
        diffs["classifier FID features"] = (f - orig["fid"](fut.permute(0, 2, 1), h0)).abs().max()
    for name, value in diffs.items():
        print(f"max |ours - original| {name:28s} {float(value):.2e}")


if __name__ == "__main__":
    main()
