"""`import motionkit` and its numpy-only parts must not pull in torch (apo_tf's environment has none)."""

import subprocess
import sys


def test_numpy_only_modules_do_not_import_torch():
    code = (
        "import sys; import motionkit, motionkit.skeletons, motionkit.metrics, motionkit.datasets, "
        "motionkit.config, motionkit.errors, motionkit.viz, motionkit.golden; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
