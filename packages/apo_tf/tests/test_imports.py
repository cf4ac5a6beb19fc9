"""Import rules (LAYOUT.md): every module imports alone, no cycles, no train* module imports an evaluate* one."""

from motionkit.testing import check_imports


def test_import_rules():
    check_imports("apo_tf")
