from motionkit.testing import check_imports


def test_no_import_cycles_and_train_never_imports_evaluate():
    check_imports("nads_spade")
