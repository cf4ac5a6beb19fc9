"""This package's data sets in motionkit's registry, beside their readers (``io.py``): name -> reader.

Both are licensed and never downloaded: the spec says where to register and how to build the file; the reader
takes the folder holding it and returns ``dict[subject][action] -> (T, J, 3)`` float32 metres.
"""

from __future__ import annotations

from pathlib import Path

from diverse_sampling.data.io import Takes, read_positions
from diverse_sampling.data.layout import H36M, HUMANEVA, DatasetLayout
from motionkit.datasets.registry import DatasetFile, DatasetSpec, register


def _reader(layout: DatasetLayout):
    def load(root: str | Path) -> Takes:
        """All takes of ``<root>/{layout.filename}`` (the VideoPose3D layout, checked; one-line errors)."""
        return read_positions(Path(root) / layout.filename, layout.n_file_joints)

    load.__name__ = f"load_{layout.name}"
    return load


load_h36m = _reader(H36M)
load_humaneva = _reader(HUMANEVA)

SPECS = (
    DatasetSpec(
        name="h36m-videopose3d",
        description="Human3.6M 3D poses in the VideoPose3D npz layout (data_3d_h36m.npz), 50 Hz, 32 joints, metres",
        homepage="http://vision.imar.ro/human3.6m/",
        licence="academic licence after registration; redistribution forbidden",
        redistributable=False,
        files=(DatasetFile("", None, H36M.filename),),
        loader=load_h36m,
        citation="Ionescu et al. Human3.6M. TPAMI 2014.",
        how_to_get=H36M.how_to_get,
    ),
    DatasetSpec(
        name="humaneva-videopose3d",
        description="HumanEva-I 3D poses in the VideoPose3D npz layout (data_3d_humaneva15.npz), 60 Hz, 15 joints",
        homepage="http://humaneva.is.tue.mpg.de/",
        licence="registration required; redistribution forbidden",
        redistributable=False,
        files=(DatasetFile("", None, HUMANEVA.filename),),
        loader=load_humaneva,
        citation="Sigal, Balan, Black. HumanEva. IJCV 2010.",
        how_to_get=HUMANEVA.how_to_get,
    ),
)

for _spec in SPECS:
    register(_spec, replace=True)  # replaces motionkit's placeholder entry, whose loader string named no function
