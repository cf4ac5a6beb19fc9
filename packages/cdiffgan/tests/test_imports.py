"""Every module imports alone; no import cycle; no train* module imports an evaluate* module."""

from motionkit.testing import check_imports


def test_import_rules():
    check_imports("cdiffgan")
