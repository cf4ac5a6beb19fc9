"""$1-GDS unistroke logs (Wobbrock et al. 2007): reader and writer of the XML format (deepnag.md §3.1).

Layout: `xml_logs/<subject>/<speed>/<gesture><NN>.xml`, subjects "s01 (pilot)", s02..s11, speeds slow/medium/fast.
A file is one `<Gesture Name="arrow01" Subject=.. Speed=.. Number=.. NumPts=.. Millseconds=.. ...>` element
holding `<Point X=".." Y=".." T=".."/>` children (integer pixels, y down, T in ms), UTF-8 with a BOM.
The label is `Name` without its digits. DeepNAG uses only the `medium` speed and skips the pilot subject.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from deepnag.data.gestures import GestureSet
from motionkit.errors import DataFormatError, DatasetMissingError

# an X/Y beyond this is a damaged value, not a pen position: it would set the normaliser's range (every real
# gesture squeezed to one point), so it is refused like a non-finite one
MAX_PIXELS = 1e5
DOLLAR_CLASSES = (
    "arrow", "caret", "check", "circle", "delete_mark", "left_curly_brace", "left_sq_bracket", "pigtail",
    "question_mark", "rectangle", "right_curly_brace", "right_sq_bracket", "star", "triangle", "v", "x",
)


def read_dollar_xml(path: str | Path) -> tuple[str, np.ndarray, dict]:
    """One $1 log file -> (gesture label, points (T, 3) as X, Y, T, root attributes)."""
    path = Path(path)
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder where a $1 XML log belongs")
    try:
        root = ET.fromstring(path.read_bytes())  # bytes: ElementTree honours the BOM and the XML declaration
    except ET.ParseError as exc:
        raise DataFormatError(f"{path}: not a valid $1 XML log ({exc})") from None
    if root.tag != "Gesture":
        raise DataFormatError(f"{path}: root element is <{root.tag}>, expected <Gesture>")
    name = root.get("Name")
    if not name:
        raise DataFormatError(f"{path}: <Gesture> has no Name attribute")
    label = re.sub(r"\d+", "", name)
    rows = []
    for k, point in enumerate(root.iter("Point")):
        try:
            rows.append((float(point.get("X")), float(point.get("Y")), float(point.get("T", "0"))))
        except (TypeError, ValueError):
            raise DataFormatError(f"{path}: <Point> number {k + 1} has a missing or non-numeric X/Y/T") from None
    if len(rows) < 2:
        raise DataFormatError(f"{path}: {len(rows)} <Point> elements, need at least 2")
    bad = [k for k, row in enumerate(rows) if not all(np.isfinite(row))]
    if bad:
        raise DataFormatError(f"{path}: <Point> number {bad[0] + 1} has a non-finite X/Y/T")
    far = [k for k, (x, y, _) in enumerate(rows) if max(abs(x), abs(y)) > MAX_PIXELS]
    if far:
        raise DataFormatError(f"{path}: <Point> number {far[0] + 1} lies {max(map(abs, rows[far[0]][:2])):.3g} "
                              f"pixels out (no screen is that large; the limit is {MAX_PIXELS:g})")
    declared = root.get("NumPts")
    if declared is not None and declared.isdigit() and int(declared) != len(rows):
        raise DataFormatError(f"{path}: NumPts={declared} but the file has {len(rows)} <Point> elements")
    return label, np.asarray(rows, dtype=np.float64), dict(root.attrib)


def write_dollar_xml(path: str | Path, name: str, subject: int, speed: str, number: int, points: np.ndarray) -> None:
    """Write a $1 log file. points: (T, 3) integer-valued X, Y (pixels, y down) and T (ms)."""
    points = np.asarray(points)
    t0, t1 = int(points[0, 2]), int(points[-1, 2])
    lines = [
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>',
        f'<Gesture Name="{name}" Subject="{subject}" Speed="{speed}" Number="{number}" NumPts="{len(points)}" '
        f'Millseconds="{t1 - t0}" AppName="deepnag-synthetic" AppVer="1.0" Date="" TimeOfDay="">',
    ]
    lines += [f'  <Point X="{int(x)}" Y="{int(y)}" T="{int(t)}" />' for x, y, t in points]
    lines.append("</Gesture>")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines)).encode("utf-8"))


def _find_xml_logs(root: Path) -> Path:
    for candidate in (root / "xml_logs", root / "dollar_gds" / "xml_logs", root):
        if candidate.is_dir() and any(p.is_dir() for p in candidate.glob("s*")):
            return candidate
    raise DatasetMissingError(
        f"{root}: no $1-GDS logs found (expected {root}/xml_logs/s02/medium/*.xml); download "
        "http://depts.washington.edu/acelab/proj/dollar/xml.zip and unzip it there"
    )


def load_dollar_gds(root: str | Path, speed: str = "medium", skip_pilot: bool = True) -> GestureSet:
    """Read $1-GDS from `root` (the folder holding `xml_logs/`, or `xml_logs/` itself).

    Returns raw (T_i, 2) pixel x, y sequences; labels index DOLLAR_CLASSES (alphabetical = the original's
    first-seen order). Gestures outside the 16 known classes raise a DataFormatError naming the file.
    """
    logs = _find_xml_logs(Path(root))
    files = sorted(
        p for p in logs.glob(f"*/{speed}/*.xml") if not (skip_pilot and "pilot" in p.parent.parent.name)
    )
    if not files:
        raise DatasetMissingError(f"{logs}: no {speed} $1-GDS files (<subject>/{speed}/*.xml)")
    index = {c: i for i, c in enumerate(DOLLAR_CLASSES)}
    seqs, labels, subjects = [], [], []
    for path in files:
        label, points, _ = read_dollar_xml(path)
        if label not in index:
            raise DataFormatError(f"{path}: unknown gesture {label!r} (expected one of the 16 $1 gestures)")
        seqs.append(points[:, :2])
        labels.append(index[label])
        subjects.append(path.parent.parent.name)
    return GestureSet(seqs, np.asarray(labels), list(DOLLAR_CLASSES), subjects, [str(f) for f in files], "pen")
