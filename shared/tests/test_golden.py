import pytest

from motionkit.golden import GoldenMismatch, check_golden


def test_golden_roundtrip_and_messages(tmp_path):
    path = tmp_path / "g.json"
    check_golden(path, {"loss": [1.0, 0.5], "acc": 0.9}, regen=True)
    check_golden(path, {"loss": [1.0 + 1e-7, 0.5], "acc": 0.9}, rtol=1e-5)
    with pytest.raises(GoldenMismatch) as info:
        check_golden(path, {"loss": [1.0, 0.6], "acc": 0.9}, rtol=1e-5)
    assert "loss[1]: moved 0.5 -> 0.6" in str(info.value)
    with pytest.raises(GoldenMismatch, match="missing from this run"):
        check_golden(path, {"loss": [1.0, 0.5]})
    with pytest.raises(GoldenMismatch, match="--regen"):
        check_golden(tmp_path / "none.json", {"a": 1})


def test_fixture_is_available(golden):
    assert golden.folder.name == "golden"
