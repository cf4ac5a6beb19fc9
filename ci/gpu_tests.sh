#!/usr/bin/env bash
# Run the CUDA-marked tests (and the soft-DTW GPU bench) on a machine with an NVIDIA GPU.
#   bash ci/gpu_tests.sh            # uses the python on PATH; installs motionkit + packages editable
# On the lent device image torch (CUDA build) and numba are preinstalled, so nothing here pins torch; numba's
# CUDA target needs numpy.row_stack, which numpy 2.5 removed: motionkit.softdtw aliases it before compiling.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print('GPU:', torch.cuda.get_device_name())"
"$PY" -m pip install -q --no-deps -e shared
for p in packages/*/; do
  [ -f "$p/pyproject.toml" ] && [ "$(basename "$p")" != apo_tf ] && "$PY" -m pip install -q --no-deps -e "$p"
done
status=0
"$PY" -m pytest -m cuda -q -rs shared/tests $(ls -d packages/*/tests | grep -v apo_tf) || status=$?
if [ "${BENCH:-1}" = 1 ]; then "$PY" shared/bench/softdtw.py --device cuda || status=$?; fi
exit $status
