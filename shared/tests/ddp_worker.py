"""Run by test_ddp.py under torchrun: one DDP step on rank-specific data; writes this rank's gradients."""

import sys

import torch

from motionkit.training import seed_everything
from motionkit.training.ddp import all_reduce_mean, cleanup, init_distributed, make_loader, wrap_ddp


def main(out_dir: str) -> None:
    env = init_distributed(backend="gloo", device="cpu")
    seed_everything(0)
    model = wrap_ddp(torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)), env)
    data = torch.utils.data.TensorDataset(torch.arange(16, dtype=torch.float32).repeat(3, 1).T / 16)
    loader = make_loader(data, batch_size=4, env=env, shuffle=True, seed=1)
    (batch,) = next(iter(loader))
    loss = model(batch).pow(2).mean()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    mean_loss = all_reduce_mean(loss.detach(), env)
    indices = list(iter(loader.sampler))
    torch.save({"grads": grads, "batch": batch, "indices": indices, "world": env.world_size,
                "mean_loss": mean_loss}, f"{out_dir}/rank{env.rank}.pt")
    cleanup(env)


if __name__ == "__main__":
    main(sys.argv[1])
