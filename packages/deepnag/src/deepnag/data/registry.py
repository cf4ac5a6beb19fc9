"""deepnag's data sets in motionkit's registry: name -> reader, synthetic writer, where to download it.

Registered when `deepnag.data` is imported. The two real sets cannot be redistributed: `motionkit.datasets.fetch`
downloads them from their public locations and checks every file against the SHA-256 manifests in
`data/manifests/` (package data; computed from verified copies). The synthetic stand-ins are written by our
generators in the real formats and read back by the same readers.
"""

from __future__ import annotations

import json
from importlib import resources

from deepnag.data.dollar import load_dollar_gds
from deepnag.data.jk2017 import load_jk2017
from deepnag.data.synthetic_kinect import write_synthetic_kinect
from deepnag.data.synthetic_pen import write_synthetic_pen
from motionkit.datasets import DatasetFile, DatasetSpec, register

JK2017_COMMIT = "c8bce2e4ede06742c1537ac99d0ec135e6a53b3a"  # ISUE/Jackknife, the files DeepNAG ships


def _manifest(name: str) -> dict[str, str]:
    return json.loads(resources.files("deepnag.data").joinpath(f"manifests/{name}.json").read_text())


def register_datasets() -> None:
    register(DatasetSpec(
        name="dollar-gds",
        description="$1 unistroke gesture logs (Wobbrock et al., UIST 2007): 16 gestures x 10 subjects x 3 speeds x 10",
        homepage="https://depts.washington.edu/acelab/proj/dollar/index.html",
        licence="publicly downloadable research data; no explicit redistribution terms (do not redistribute)",
        redistributable=False,
        files=(DatasetFile("http://depts.washington.edu/acelab/proj/dollar/xml.zip", None, "xml.zip", extract=True),),
        manifest=_manifest("dollar-gds"),
        normalize_newlines=True,  # the zip ships CRLF; some mirrors carry LF
        loader=load_dollar_gds,
        citation="Wobbrock, Wilson, Li. Gestures without libraries, toolkits or training. UIST 2007.",
        how_to_get="download http://depts.washington.edu/acelab/proj/dollar/xml.zip and unzip it (gives xml_logs/)",
        extra={"synthetic": "synthetic-pen"},
    ), replace=True)
    register(DatasetSpec(
        name="jk2017-kinect",
        description="JK2017 Kinect v2 full-body gestures (Jackknife): 20 subjects x 14 gestures x 2, 21 joints",
        homepage="https://github.com/ISUE/Jackknife",
        licence="academic research use only; use/copy/modify granted, redistribution NOT granted",
        redistributable=False,
        files=(DatasetFile(f"https://github.com/ISUE/Jackknife/archive/{JK2017_COMMIT}.zip", None, "jackknife.zip",
                           extract=True),),
        manifest=_manifest("jk2017-kinect"),
        subdir=f"Jackknife-{JK2017_COMMIT}/datasets/jk2017/kinect",
        loader=load_jk2017,
        citation="Taranta et al. Jackknife: a reliable recognizer with few samples and many modalities. CHI 2017.",
        how_to_get="clone https://github.com/ISUE/Jackknife and use datasets/jk2017/kinect (academic use only)",
        extra={"synthetic": "synthetic-kinect"},
    ), replace=True)
    for name, reader, writer, like in (("synthetic-pen", load_dollar_gds, write_synthetic_pen, "$1-GDS"),
                                       ("synthetic-kinect", load_jk2017, write_synthetic_kinect, "JK2017 Kinect")):
        register(DatasetSpec(
            name=name, description=f"deepnag's procedural stand-in for {like}, written in its file format",
            homepage="https://github.com/motionzoo (packages/deepnag)", licence="MIT (generated)",
            redistributable=True, loader=reader, how_to_get=f"generated on first use by deepnag ({writer.__name__})",
            extra={"writer": writer},
        ), replace=True)
