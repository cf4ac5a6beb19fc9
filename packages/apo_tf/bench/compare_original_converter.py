"""Side by side: human_pose_util's own Human3.6M converter and apo_tf's, on the same official-layout CDFs.

    python packages/apo_tf/bench/compare_original_converter.py --original /path/to/human_pose_util-checkout

Writes the tiny synthetic set as pose CDFs in the original README's ``$H3M_PATH`` layout (as the tests do), runs
the original ``human_pose_util.dataset.h3m.data.convert()`` (from a checkout of github jackd/human_pose_util,
python 3 version; spacepy.pycdf is stood in for by cdflib and imageio's frame count by the CDF's, since there are
no videos), runs ``apo_tf.data.h3m_convert.convert`` on the same folder, and compares the two hdf5 files: names,
attributes, dtypes and the largest difference of any array. Nothing of the original is copied; it is imported.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import types
from pathlib import Path

import cdflib
import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_h3m_files import _raw_tiny, write_official  # noqa: E402

from apo_tf.data.h3m_convert import convert  # noqa: E402


class _CDF:
    """spacepy.pycdf.CDF as the original uses it: a context manager, ``cdf['Pose'][0]`` -> (T, D)."""

    def __init__(self, path):
        self._cdf = cdflib.CDF(path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getitem__(self, key):
        return self._cdf.varget(key)


def _install_shims(root: Path) -> None:
    class Reader:  # imageio.get_reader(video): only len() is used, the frame count
        def __init__(self, path):
            self.path = Path(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __len__(self):
            cdf = root / "D2_positions" / self.path.parent.name / (self.path.stem + ".cdf")
            return len(cdflib.CDF(str(cdf)).varget("Pose")[0])

    pycdf = types.ModuleType("spacepy.pycdf")
    pycdf.CDF = _CDF
    spacepy = types.ModuleType("spacepy")
    spacepy.pycdf = pycdf
    imageio = types.ModuleType("imageio")
    imageio.get_reader = Reader
    sys.modules.update({"spacepy": spacepy, "spacepy.pycdf": pycdf, "imageio": imageio})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--original", required=True, help="a checkout of github jackd/human_pose_util")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="apo_convert_"))
    root = work / "h3m"
    write_official(root, _raw_tiny(), layout="h3m_path")
    for d2 in (root / "D2_positions").iterdir():  # the original lists views from Videos/<S>/<seq>.<cam>.mp4
        (root / "Videos" / d2.name).mkdir(parents=True)
        for f in d2.glob("*.cdf"):
            (root / "Videos" / d2.name / f"{f.stem}.mp4").touch()
    ours = convert(root, work / "ours.hdf5", verbose=False)
    _install_shims(root)
    sys.path[:0] = [str(Path(args.original) / "human_pose_util/dataset/h3m"), str(Path(args.original))]
    os.environ["H3M_PATH"] = str(root)
    data = importlib.import_module("human_pose_util.dataset.h3m.data")
    data._hdf5_path = str(work / "original.hdf5")
    data._train_subjects, data._eval_subjects = {"S1", "S5"}, {"S9"}  # the subjects of the tiny set
    data.convert()
    a, b = h5py.File(data._hdf5_path, "r"), h5py.File(ours, "r")
    names_a, names_b = [], []
    a.visit(names_a.append)
    b.visit(names_b.append)
    diff, dtypes, attrs_equal = 0, set(), dict(a.attrs) == dict(b.attrs)
    for n in names_a:
        if isinstance(a[n], h5py.Dataset):
            dtypes.add((a[n].dtype.name, b[n].dtype.name))
            diff = max(diff, int(np.abs(a[n][()].astype(np.int64) - b[n][()].astype(np.int64)).max()))
        else:
            attrs_equal &= dict(a[n].attrs) == dict(b[n].attrs)
    print(f"names equal: {sorted(names_a) == sorted(names_b)} ({len(names_a)}); attributes equal: {attrs_equal}; "
          f"dtypes (original, ours): {sorted(dtypes)}; max |difference| of any array: {diff}")


if __name__ == "__main__":
    main()
