"""The original DeepNAG's checkpoint files: written here exactly as its save code writes them, then read back
through load_generator (and refused when they hold anything else)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from deepnag_testutils import write_original_checkpoint

from deepnag import compat
from deepnag.evaluate import load_generator as evaluate_load_generator
from deepnag.models import DeepGANCritic, load_checkpoint_any, load_generator
from motionkit.errors import CheckpointError


def _onehot(labels, n_classes, steps):
    return torch.nn.functional.one_hot(labels, n_classes).float()[:, None, :].expand(-1, steps, -1)


@pytest.mark.parametrize("n_features,n_classes,dataset", [(2, 16, "dollar-gds"), (63, 14, "jk2017-kinect")])
def test_original_deepnag_checkpoint_loads_and_generates_identically(tmp_path, n_features, n_classes, dataset):
    path = tmp_path / "checkpoint-best.tar"
    net = write_original_checkpoint(path, n_features=n_features, n_classes=n_classes)
    G, extra = load_generator(path)
    assert extra["config"]["dataset"] == dataset and extra["config"]["latent_dim"] == 8
    assert extra["config"]["generator_hidden"] == [8, 8, 16] and extra["n_features"] == n_features
    labels = torch.arange(n_classes).repeat(2)
    z = torch.randn(len(labels), 64, 8)
    with torch.no_grad():
        ours, theirs = G(z, labels), net(z, _onehot(labels, n_classes, 64))
    assert torch.equal(ours, theirs)
    # the pickled normaliser became ours, with the same min / max
    assert np.allclose(extra["normalizer"]["lo"], torch.load(path, weights_only=False)["normalizer"].min.ravel())
    assert evaluate_load_generator is load_generator  # deepnag.evaluate.load_generator keeps working
    import deepnag

    assert deepnag.load_generator is load_generator


def test_original_checkpoint_in_the_legacy_torch_format_loads(tmp_path):
    path = tmp_path / "checkpoint-best.tar"
    net = write_original_checkpoint(path, legacy=True)
    G, _ = load_generator(path)
    z, y = torch.randn(4, 64, 8), torch.tensor([0, 3, 9, 15])
    with torch.no_grad():
        assert torch.equal(G(z, y), net(z, _onehot(y, 16, 64)))


def test_original_deepgan_checkpoint_critic_keys(tmp_path):
    path = tmp_path / "checkpoint-best.tar"
    write_original_checkpoint(path, model="DeepGAN")
    state = load_checkpoint_any(path)
    assert state["extra"]["config"]["model"] == "DeepGAN"
    critic = DeepGANCritic(16, 2, (16, 8, 8))
    critic.load_state_dict(state["modules"]["critic"])  # strict: every JitGRU key found its place
    original = torch.load(path, weights_only=False)["discriminator"]
    assert torch.equal(critic.grus[0].weight_ih_l0, original["module.gru1.layers.0.cell.weight_ih"])
    assert torch.equal(critic.out.bias, original["module.fc.bias"])


def test_dataset_given_by_user_overrides_the_inferred_one(tmp_path):
    path = tmp_path / "c.tar"
    write_original_checkpoint(path)
    _, extra = load_generator(path, dataset="synthetic-pen", resample_n=32)
    assert extra["config"]["dataset"] == "synthetic-pen" and extra["config"]["resample_n"] == 32


class _Payload:
    """Unpickling this would create a file: proof that no code from a refused file runs."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.fault(4, "an original-format checkpoint whose pickle names another class (io.open)")
def test_file_with_another_pickled_class_is_refused_in_one_line(tmp_path):
    path, marker = tmp_path / "evil.tar", tmp_path / "ran"
    torch.save({"model": "DeepNAG", "generator": {}, "normalizer": _Payload(marker)}, path)
    with pytest.raises(CheckpointError) as err:
        load_generator(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "io.open" in message
    assert not marker.exists()


@pytest.mark.fault(4, "bytes that are not a torch file where a checkpoint belongs")
def test_not_a_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "junk.tar"
    path.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="junk.tar"):
        load_generator(path)


def test_our_checkpoints_pass_the_restricted_unpickler():
    from deepnag_testutils import PACKAGE

    for path in sorted((PACKAGE / "pretrained").glob("*.pt")):
        state = compat.read_checkpoint(path)
        assert "modules" in state and not compat.is_original(state)
