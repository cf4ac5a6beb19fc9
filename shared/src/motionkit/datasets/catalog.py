"""The data sets the five papers use, with their public locations and what their licences allow.

None of these may be committed to the project: users download them (or request access) themselves. Where the
publisher gives no checksum for an archive, the extracted files are checked against a manifest of SHA-256
digests computed from a verified copy (``manifests/*.json``; regenerate with ``make_manifest``).
"""

from __future__ import annotations

import json
from importlib import resources

from motionkit.datasets.registry import DatasetFile, DatasetSpec, register


def _manifest(name: str) -> dict[str, str]:
    return json.loads(resources.files("motionkit.datasets").joinpath(f"manifests/{name}.json").read_text())


JK2017_COMMIT = "c8bce2e4ede06742c1537ac99d0ec135e6a53b3a"

register(DatasetSpec(
    name="dollar-gds",
    description="$1 unistroke gesture logs (Wobbrock et al., UIST 2007): 16 gestures x 10 subjects x 3 speeds x 10",
    homepage="https://depts.washington.edu/acelab/proj/dollar/index.html",
    licence="publicly downloadable research data; no explicit redistribution terms (do not redistribute)",
    redistributable=False,
    files=(DatasetFile("http://depts.washington.edu/acelab/proj/dollar/xml.zip", None, "xml.zip", extract=True),),
    manifest=_manifest("dollar-gds"),
    normalize_newlines=True,  # the zip ships CRLF; some mirrors carry LF
    loader="deepnag.data:load_dollar_gds",
    citation="Wobbrock, Wilson, Li. Gestures without libraries, toolkits or training. UIST 2007.",
    how_to_get="download http://depts.washington.edu/acelab/proj/dollar/xml.zip and unzip it (gives xml_logs/)",
))

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
    loader="deepnag.data:load_jk2017",
    citation="Taranta et al. Jackknife: a reliable recognizer with few samples and many modalities. CHI 2017.",
    how_to_get="clone https://github.com/ISUE/Jackknife and use datasets/jk2017/kinect (academic use only)",
))

register(DatasetSpec(
    name="h36m-videopose3d",
    description="Human3.6M 3D poses in the VideoPose3D npz layout (data_3d_h36m.npz)",
    homepage="http://vision.imar.ro/human3.6m/",
    licence="academic licence after registration; redistribution forbidden",
    redistributable=False,
    files=(DatasetFile("", None, "data_3d_h36m.npz"),),
    loader="diverse_sampling.data:load_npz",
    citation="Ionescu et al. Human3.6M. TPAMI 2014.",
    how_to_get="register at vision.imar.ro/human3.6m, then build data_3d_h36m.npz with VideoPose3D's "
               "prepare_data_h36m.py and pass its folder as --data-root",
))

register(DatasetSpec(
    name="humaneva-videopose3d",
    description="HumanEva-I 3D poses in the VideoPose3D npz layout (data_3d_humaneva15.npz)",
    homepage="http://humaneva.is.tue.mpg.de/",
    licence="registration required; redistribution forbidden",
    redistributable=False,
    files=(DatasetFile("", None, "data_3d_humaneva15.npz"),),
    loader="diverse_sampling.data:load_npz",
    citation="Sigal, Balan, Black. HumanEva. IJCV 2010.",
    how_to_get="register at humaneva.is.tue.mpg.de, then build data_3d_humaneva15.npz with VideoPose3D's "
               "prepare_data_humaneva.py and pass its folder as --data-root",
))

register(DatasetSpec(
    name="pats",
    description="PATS: Pose-Audio-Transcript-Style co-speech gesture data set (25 speakers)",
    homepage="https://chahuja.com/pats/",
    licence="CC BY-NC-ND 4.0 (non-commercial; do not redistribute modified copies)",
    redistributable=False,
    files=(DatasetFile("", None, "pats"),),
    loader="cdiffgan.data:load_pats",
    citation="Ahuja et al. Style transfer for co-speech gesture animation. ECCV 2020.",
    how_to_get="download the per-speaker archives from https://chahuja.com/pats/ and pass the folder holding "
               "cmu_intervals_df.csv as --data-root",
))
