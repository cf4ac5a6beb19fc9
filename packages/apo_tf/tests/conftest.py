import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory):
    """A home dir with the tiny synthetic data and the synth_tiny GAN trained for 3000 global steps (~3 s)."""
    from apo_tf.config import load_gan_config
    from apo_tf.train import train

    home = tmp_path_factory.mktemp("apo_home")
    summary = train(load_gan_config("synth_tiny"), home, verbose=False)
    assert summary["step"] == 3000
    return home
