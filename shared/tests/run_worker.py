"""A tiny training job on motionkit's run lifecycle, for test_run.py (also under torchrun, and killed).

    python run_worker.py LOG_ROOT STEPS [--resume RUN] [--die-at K] [--hold SECONDS] [--lr LR]
"""

import argparse
import json
import time
from dataclasses import dataclass

import torch

from motionkit.errors import run_cli
from motionkit.run import start_run
from motionkit.training.ddp import average_gradients


@dataclass
class Cfg:
    steps: int = 6
    lr: float = 0.1
    width: int = 4


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("log_root")
    p.add_argument("steps", type=int)
    p.add_argument("--resume", nargs="?", const="", default=None)
    p.add_argument("--die-at", type=int, default=-1)
    p.add_argument("--hold", type=float, default=0.0)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--width", type=int, default=4)
    p.add_argument("--mutable", default=None)
    a = p.parse_args(argv)
    cfg = Cfg(a.steps, a.lr, a.width)
    mutable = None if a.mutable is None else set(a.mutable.split(","))
    with start_run(cfg, package="demo", run_name="toy", log_root=a.log_root, resume=a.resume, device="cpu",
                   seed=3, mutable_on_resume=mutable) as run:
        model = torch.nn.Linear(cfg.width, 1)
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
        modules = {"model": model, "optimizer": opt}
        start, _ = run.checkpointer.resume(modules)
        run.check_not_finished(start, cfg.steps, unit="step", flag="steps")
        time.sleep(a.hold)
        for step in range(start, cfg.steps):
            x = torch.randn(8, cfg.width)
            loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            average_gradients(model, run.env)
            opt.step()
            run.logger.log(step + 1, loss=float(loss))
            run.checkpointer.save(step + 1, modules)
            if step + 1 == a.die_at:
                import os

                os._exit(9)  # killed: no cleanup runs
        if run.is_main:
            weights = torch.cat([q.detach().flatten() for q in model.parameters()]).tolist()
            (run.dir / "weights.json").write_text(json.dumps(weights))
        print(f"RUN_DIR {run.dir} rank {run.env.rank}")
    return 0


if __name__ == "__main__":
    from motionkit.training.ddp import exit_process  # a rank once aborted in exit-time gloo teardown

    exit_process(run_cli(main))
