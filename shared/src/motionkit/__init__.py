"""motionkit: what the motionzoo packages truly share.

``import motionkit`` needs numpy only. Submodules that need torch (``motionkit.softdtw``,
``motionkit.training``) import it themselves, so apo_tf's TensorFlow environment can use the skeletons,
metrics, datasets and viz without torch.
"""

import os

__version__ = "0.1.0"

# torch's OpenMP workers busy-wait after every parallel op: libgomp's default spin count (300000 pauses,
# milliseconds on this project's AMD CPUs) keeps a core busy between torch ops, so the soft-DTW kernels'
# worker threads (motionkit.softdtw.cpu.run_pairs) ran at half speed beside them (DeepNAG's training step:
# 544.5 -> 429.0 ms, packages/deepnag/bench/train_step.py with GOMP_SPINCOUNT=300000 vs this default).
# 10000 costs torch nothing measurable. libgomp reads the variable when it loads, so this only acts when
# motionkit is imported before torch (the packages' CLIs and benches do); a value the user set is kept.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")
