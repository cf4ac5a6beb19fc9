#!/usr/bin/env bash
# Install one package (and motionkit) into the active Python environment with the torch pin:
#   bash ci/install.sh deepnag        # or: motionkit, apo_tf (TensorFlow, no torch)
set -euo pipefail
cd "$(dirname "$0")/.."
pkg=${1:?usage: ci/install.sh <package>}
if [ "$pkg" = motionkit ]; then
  python -m pip install -c ci/constraints.txt -e "shared[torch,test]"
elif [ "$pkg" = apo_tf ]; then
  python -m pip install -c ci/constraints.txt -e "shared[test]" -e "packages/apo_tf[test]"
else
  python -m pip install -c ci/constraints.txt -e "shared[torch,test]" -e "packages/$pkg[test]"
fi
