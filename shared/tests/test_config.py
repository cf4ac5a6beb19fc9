from dataclasses import dataclass

import pytest

from motionkit.config import format_config, load_config, save_config
from motionkit.errors import ConfigError


@dataclass
class Cfg:
    lr: float = 1e-4
    epochs: int = 10
    use_tensorboard: bool = True
    betas: tuple[float, float] = (0.5, 0.9)
    name: str = "run"
    device: str | None = None


def test_yaml_then_overrides_with_coercion(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-3\nepochs: 5\nbetas: [0.9, 0.99]\n")
    cfg = load_config(Cfg, path, {"epochs": "7", "use_tensorboard": "0", "name": None})
    assert cfg == Cfg(lr=1e-3, epochs=7, use_tensorboard=False, betas=(0.9, 0.99))
    assert "epochs" in format_config(cfg)
    save_config(cfg, tmp_path / "saved.yaml")
    assert load_config(Cfg, tmp_path / "saved.yaml") == cfg


def test_bad_configs_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr: 1\nlearning_rate: 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: unknown key 'learning_rate'"):
        load_config(Cfg, bad)
    bad.write_text("epochs: many\n")
    with pytest.raises(ConfigError, match="epochs: expected a whole number"):
        load_config(Cfg, bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(Cfg, tmp_path / "missing.yaml")
    bad.write_text("lr: [1, 2\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(Cfg, bad)


def test_a_rejected_value_names_its_source(tmp_path):
    from dataclasses import dataclass

    import pytest

    from motionkit.config import load_config
    from motionkit.errors import ConfigError

    @dataclass
    class C:
        batch_size: int = 4
        lr: float = 0.1

        def __post_init__(self):
            if self.batch_size < 1:
                raise ConfigError(f"batch_size {self.batch_size}: must be at least 1")
            if self.lr <= 0:
                raise ConfigError("--lr must be positive")

    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.5\n")
    with pytest.raises(ConfigError, match=r"^option --batch_size: batch_size 0: must be at least 1$"):
        load_config(C, path, {"batch_size": 0})
    with pytest.raises(ConfigError, match=r"^option --lr: --lr must be positive$"):
        load_config(C, path, {"lr": -1.0})
    path.write_text("batch_size: 0\n")
    with pytest.raises(ConfigError, match=r"c.yaml: batch_size 0"):
        load_config(C, path)
    C.__post_init__ = lambda self: _refuse(self.batch_size < 1, "--batch-size must be at least 1")
    with pytest.raises(ConfigError, match=r"^option --batch_size: --batch-size must"):  # the flag, not c.yaml
        load_config(C, path, {"batch_size": 0})


def _refuse(bad: bool, message: str) -> None:
    from motionkit.errors import ConfigError

    if bad:
        raise ConfigError(message)



@pytest.mark.fault(3, "a YAML value the config must not take silently")
@pytest.mark.parametrize("text, problem", [
    ("seed: 1.5\n", "seed: expected a whole number, got 1.5"),
    ("seed: '1.5'\n", "seed: expected a whole number, got '1.5'"),
    ("seed: true\n", "seed: expected a whole number, got True"),
    ("seed: 1.0e+23\n", "seed: expected a whole number"),
    ("lr: 0.1\nlr: 0.0001\n", "key 'lr' given twice"),
    ("lr: null\n", "lr: empty (null); give a value, or leave the key out for its default (0.1)"),
])
def test_yaml_values_that_would_be_changed_silently_are_one_line(tmp_path, text, problem):
    from dataclasses import dataclass

    from motionkit.config import load_config
    from motionkit.errors import ConfigError

    @dataclass
    class C:
        seed: int = 0
        lr: float = 0.1
        init: str | None = None

    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(C, tmp_path / "c.yaml")
    assert problem in str(info.value) and "c.yaml" in str(info.value)


def test_whole_numbers_in_every_spelling_and_null_where_allowed(tmp_path):
    from dataclasses import dataclass

    from motionkit.config import load_config

    @dataclass
    class C:
        seed: int = 0
        init: str | None = "x"

    (tmp_path / "c.yaml").write_text("seed: 1e3\ninit: null\n")
    assert load_config(C, tmp_path / "c.yaml") == C(1000, None)
    assert load_config(C, None, {"seed": "12345678901234567890123"}).seed == 12345678901234567890123
