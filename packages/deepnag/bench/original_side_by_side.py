"""Side by side with the original DeepNAG code: its checkpoints through our loader, same weights, same noise.

Needs a checkout of the original with its submodules (not part of this repository):

    git clone https://github.com/Maghoumi/DeepNAG && cd DeepNAG && git submodule update --init --recursive

and its data layout (`<original>/data/dollar_gds/xml_logs`, `<original>/data/jk2017/kinect/training`, or
`--datapath`). For each model and data set the script builds the original's model with the original's own
classes (DeepNAG / DeepGAN, DataParallel, JitGRU critic), saves `checkpoint-best.tar` with the original's own
save(), loads that file with `deepnag.models.load_generator` (the restricted unpickler; the original's code is
not needed for loading) and prints the max abs difference of the generators' outputs on one fixed noise tensor
(normalised and un-normalised) and of the critics' scores.

    python packages/deepnag/bench/original_side_by_side.py --original ~/DeepNAG

Two shims make the 2020 code run on torch 2 / numpy 2 (behaviour unchanged): torch's Sampler no longer takes
a data source, and numpy dropped `np.float`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import types

import numpy as np
import torch


def _import_original(path: str):
    sys.path.insert(0, path)
    torch.utils.data.Sampler.__init__ = lambda self, *args, **kwargs: None  # torch 2: no data_source argument
    np.float = float  # numpy >= 1.24 removed the alias the original's JK2017 loader uses
    from dataloader.dataset import Dataset
    from models.DeepGAN import DeepGAN
    from models.DeepNAG import DeepNAG

    return Dataset, {"DeepNAG": DeepNAG, "DeepGAN": DeepGAN}


def _options(model: str, dataset: str, datapath: str, out_dir: str):
    opt = types.SimpleNamespace(
        datapath=datapath, dataset_name=dataset, seed=1234, model=model, latent_dim=32, resample_n=64, lr=1e-4,
        beta0=0.5, beta1=0.9, batch_size=64, epochs=1, deepgan_critic_iters=5, deepgan_lambda=10,
        use_tensorboard=0, vis_frequency=0, checkpoint_frequency=0, experiment_name=None, evaluate=None,
        run_checkpoint_dir=out_dir, use_cuda=False)
    opt.get_path_from_root = lambda p: os.path.join(datapath, p)
    return opt


def compare(Dataset, classes: dict, model: str, dataset: str, datapath: str) -> dict:
    from deepnag.data import MinMaxNormalizer
    from deepnag.models import DeepGANCritic, load_checkpoint_any, load_generator

    out_dir = tempfile.mkdtemp(prefix=f"orig-{model}-{dataset}-")
    torch.manual_seed(1234)
    opt = _options(model, dataset, datapath, out_dir)
    ds = Dataset.instantiate(opt)
    split = ds.get_split()
    original = classes[model](ds.num_classes, ds.num_features, opt, torch.device("cpu"), None)
    split.get_data_loader()  # fits the normaliser, as training does
    original._normalizer = split.normalizer
    original._best_model = original._get_state()
    original.save(save_best=True)  # the original's own file
    path = os.path.join(out_dir, "checkpoint-best.tar")

    labels = torch.arange(ds.num_classes).repeat(4)
    z = torch.randn(len(labels), 64, 32, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        theirs = original.generate(labels, z, unnormalize=False).numpy()
        theirs_un = original.generate(labels, z, unnormalize=True)
    G, extra = load_generator(path)
    with torch.no_grad():
        ours = G(z, labels).numpy()
    ours_un = MinMaxNormalizer.from_state_dict(extra["normalizer"]).unnormalize(ours)
    result = {"generator": float(np.abs(ours - theirs).max()),
              "generator_unnormalised": float(np.abs(ours_un - theirs_un).max()),
              "data_scale": float(np.abs(theirs_un).max())}
    if model == "DeepGAN":
        state = load_checkpoint_any(path)
        critic = DeepGANCritic(ds.num_classes, ds.num_features, tuple(state["extra"]["config"]["critic_hidden"]))
        critic.load_state_dict(state["modules"]["critic"])
        x = torch.as_tensor(theirs)
        with torch.no_grad():
            a = critic(x, labels).numpy()
            b = original._discriminator(x, original._to_one_hot(labels)).numpy()
        result["critic"] = float(np.abs(a - b).max())
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--original", required=True, help="checkout of github Maghoumi/DeepNAG with its submodules")
    p.add_argument("--datapath", help="its data root (default <original>/data)")
    p.add_argument("--datasets", default="dollar-gds,jk2017-kinect")
    args = p.parse_args()
    Dataset, classes = _import_original(os.path.abspath(args.original))
    datapath = args.datapath or os.path.join(args.original, "data")
    print(f"{'model':<8} {'data set':<14} {'generator':>10} {'un-normalised':>14} {'(data scale)':>13} {'critic':>9}")
    for dataset in args.datasets.split(","):
        for model in ("DeepNAG", "DeepGAN"):
            r = compare(Dataset, classes, model, dataset, datapath)
            print(f"{model:<8} {dataset:<14} {r['generator']:>10.3g} {r['generator_unnormalised']:>14.3g} "
                  f"{r['data_scale']:>13.4g} {r.get('critic', float('nan')):>9.3g}")


if __name__ == "__main__":
    main()
