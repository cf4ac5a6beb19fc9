"""The original's ``python main_classifier.py --exp_name=h36m_t2``: FID and ACC of the released t2 model.

Evaluates ``--model_path`` (default ``./ckpt/pretrained/<exp_name>.pth``) with the action classifier
(``./ckpt/classifier/<dataset>_classifier.pth`` when present, else ``--classifier_checkpoint``), which must exist.
Every flag of ``diverse_sampling.main`` is accepted. The original's default experiment is ``h36m_t2``.
"""

from __future__ import annotations

import sys

from diverse_sampling.main import build_parser, make_config, model_path_of
from motionkit.errors import run_cli


def main(argv=None) -> int:
    args = build_parser().parse_args(list(argv or []))
    if args.exp_name is None and args.config is None:
        args.exp_name = "h36m_t2"
    args.is_load = 1
    cfg = make_config(args)
    from diverse_sampling.evaluate import run_evaluation

    metrics = run_evaluation(cfg, model_path_of(args, cfg, "evaluate"), render_outputs=False,
                             require_classifier=True)
    print(f"Test -->  fid {metrics['FID']:.4f} -- acc {metrics['ACC']:.4f}")
    return 0


def cli() -> None:
    sys.exit(run_cli(main))


if __name__ == "__main__":
    cli()
