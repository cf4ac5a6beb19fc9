"""The import rules of the house: every module imports alone, no cycles, no train* module imports evaluate*."""

from motionkit.testing import check_imports


def test_import_rules():
    check_imports("diverse_sampling")
