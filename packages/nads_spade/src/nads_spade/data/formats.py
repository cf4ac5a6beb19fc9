"""Readers of the two real annotation formats, both returning a list of :class:`Sample`.

(a) The original project's layout (its ``dataset_generator.py``)::

    root/Raw_Images/<image_id>.png            camera frames (1920x1080 in the project)
    root/Seatbelt_Mask/<image_id>.png         belt mask, channel 0, 255 = belt (optional per image here)
    root/<anything>_keypoint_Annotation*.json e.g. Train_keypoint_Annotation_sample.json

  The JSON holds ``{"annotations": [{"image_id": <image path without extension, '\\' or '/'>, "label":
  "Person", "keypoints": 9 x (x, y, v) in pixels of the frame}, ...]}``: no ``images`` list, one entry per
  person, entries of one image share its ``image_id``; entries with another ``label`` are skipped, as there.
  Keypoints with v >= 1 and x, y >= 0 are labelled. The frame size comes from the image file (the project
  assumed 1920x1080). An ``image_id`` that already ends in an image suffix is used as it is. Files in the
  COCO-style schema earlier versions of this package wrote (``images[{id, file_name, width, height}]``) are read
  too.

(b) COCO person keypoints (``person_keypoints_*.json`` + an image folder) read with pycocotools and mapped
17 -> 9 (person's anatomical sides): R-wrist <- 10, R-elbow <- 8, R-shoulder <- 6, neck <- mid(5, 6) only if
both labelled (v = min), L-shoulder <- 5, L-elbow <- 7, L-wrist <- 9, R-hip <- 12, L-hip <- 11. COCO has no belt
masks: ``belt_valid`` is False and the belt loss is masked.

Malformed files raise :class:`motionkit.errors.DataFormatError` with one line naming the file and the problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from motionkit.errors import DataFormatError, DatasetMissingError
from nads_spade.labels import NUM_KEYPOINTS

COCO_TO_NADS = (10, 8, 6, -1, 5, 7, 9, 12, 11)  # -1 = neck = midpoint of COCO 5 and 6
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


@dataclass
class Sample:
    image_path: Path
    mask_path: Path | None
    joints: np.ndarray  # (P, 9, 3) x, y, v in pixels of the stored image
    width: int
    height: int


def _load_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataFormatError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except UnicodeDecodeError as e:
        raise DataFormatError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}); save it as UTF-8") from None
    except OSError as e:
        raise DataFormatError(f"{path}: cannot read ({e.strerror})") from None


def _keypoints_array(kps, n: int, path: Path, ann_index: int) -> np.ndarray:
    if not isinstance(kps, list) or len(kps) != 3 * n:
        got = len(kps) if isinstance(kps, list) else type(kps).__name__
        raise DataFormatError(f"{path}: annotation {ann_index} has 'keypoints' of length {got}, expected {3 * n}")
    try:
        arr = np.asarray(kps, dtype=np.float32).reshape(n, 3)
    except (TypeError, ValueError):
        raise DataFormatError(f"{path}: annotation {ann_index} has non-numeric keypoints") from None
    if not np.isfinite(arr).all():
        raise DataFormatError(f"{path}: annotation {ann_index} has non-finite keypoints")
    return arr


def read_original(root: str | Path) -> list[Sample]:
    """Read format (a) under ``root`` (see module docstring): every ``*_keypoint_Annotation*.json`` there."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetMissingError(f"{root}: data folder not found (render one with "
                                  "`python -m nads_spade.main make-synthetic`)")
    files = sorted(root.glob("*_keypoint_Annotation*.json"))
    if not files:
        raise DatasetMissingError(f"{root}: no *_keypoint_Annotation*.json file")
    samples: list[Sample] = []
    for path in files:
        doc = _load_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("annotations"), list):
            raise DataFormatError(f"{path}: expected a JSON object with an 'annotations' list")
        read = _read_coco_style if "images" in doc else _read_project_schema
        samples += read(doc, path, root)
    return samples


def _image_file(root: Path, image_id: str, path: Path, where: str) -> Path:
    """``root/Raw_Images/<image_id>.png`` as the project joins it, or the id itself when it has a suffix."""
    rel = str(image_id).replace("\\", "/")
    candidates = [root / "Raw_Images" / rel] if Path(rel).suffix.lower() in IMAGE_SUFFIXES else []
    candidates.append(root / "Raw_Images" / (rel + ".png"))
    for c in candidates:
        if c.is_file():
            return c
    raise DataFormatError(f"{path}: {where} refers to missing file {candidates[-1]}")


def _mask_file(root: Path, image_file: Path, path: Path) -> Path | None:
    """``root/Seatbelt_Mask/<id>.png`` when there is one (its header is checked: an empty or undecodable mask is a
    one-line error naming it); None when the image has no mask."""
    rel = image_file.relative_to(root / "Raw_Images").with_suffix(".png")
    mask = root / "Seatbelt_Mask" / rel
    if mask.is_dir():
        raise DataFormatError(f"{mask}: is a folder, expected the belt mask of {image_file.name}")
    if not mask.is_file():
        return None
    _image_size(mask, path)
    return mask


def _image_size(image_file: Path, path: Path) -> tuple[int, int]:
    try:
        with Image.open(image_file) as im:
            w, h = im.size
    except (OSError, ValueError) as e:
        raise DataFormatError(f"{path}: cannot decode image {image_file} ({e})") from None
    return _check_size(w, h, image_file)


def _check_size(width, height, where) -> tuple[int, int]:
    """(width, height) as positive ints, else a one-line error naming ``where``."""
    try:
        w, h = int(width), int(height)
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: width/height {width!r} x {height!r} are not numbers") from None
    if w <= 0 or h <= 0:
        raise DataFormatError(f"{where}: image size {w} x {h}; both must be positive")
    return w, h


def _read_project_schema(doc: dict, path: Path, root: Path) -> list[Sample]:
    """The project's schema: annotations[{image_id, label, keypoints}], grouped by image_id in file order."""
    people: dict[str, list[np.ndarray]] = {}
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or not {"image_id", "label", "keypoints"} <= set(ann):
            raise DataFormatError(f"{path}: annotation {i} lacks 'image_id', 'label' or 'keypoints'")
        if ann["label"] != "Person":
            continue
        kps = _keypoints_array(ann["keypoints"], NUM_KEYPOINTS, path, i)
        kps[(kps[:, 2] < 1) | (kps[:, 0] < 0) | (kps[:, 1] < 0)] = 0.0
        people.setdefault(str(ann["image_id"]), []).append(kps)
    samples = []
    for image_id, persons in people.items():
        image_file = _image_file(root, image_id, path, f"image_id {image_id!r}")
        w, h = _image_size(image_file, path)
        samples.append(Sample(image_file, _mask_file(root, image_file, path), np.stack(persons), w, h))
    return samples


def _read_coco_style(doc: dict, path: Path, root: Path) -> list[Sample]:
    """The COCO-style schema of earlier versions: images[{id, file_name, width, height}] + annotations."""
    people: dict[int, list[np.ndarray]] = {}
    for i, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or "image_id" not in ann or "keypoints" not in ann:
            raise DataFormatError(f"{path}: annotation {i} lacks 'image_id' or 'keypoints'")
        people.setdefault(ann["image_id"], []).append(_keypoints_array(ann["keypoints"], NUM_KEYPOINTS, path, i))
    samples = []
    for i, img in enumerate(doc["images"]):
        try:
            iid, name, w, h = img["id"], img["file_name"], img["width"], img["height"]
        except (KeyError, TypeError):
            raise DataFormatError(f"{path}: image {i} lacks id/file_name/width/height") from None
        w, h = _check_size(w, h, f"{path}: image {i}")
        image_file = _image_file(root, name, path, f"image {i}")
        joints = people.get(iid, [])
        arr = np.stack(joints) if joints else np.zeros((0, NUM_KEYPOINTS, 3), np.float32)
        samples.append(Sample(image_file, _mask_file(root, image_file, path), arr, w, h))
    return samples


def write_original_annotation(path: str | Path, entries: list[dict]) -> None:
    """Write a format-(a) file in the project's schema. entries: [{image_id, people: (P, 9, 3) frame px}]."""
    anns = []
    for e in entries:
        for p in np.asarray(e["people"]).reshape(-1, NUM_KEYPOINTS, 3):
            anns.append({"image_id": e["image_id"], "label": "Person",
                         "keypoints": [round(float(v), 2) for v in p.reshape(-1)]})
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"annotations": anns}, f)


def coco17_to_nads9(kps17: np.ndarray) -> np.ndarray:
    """(..., 17, 3) COCO keypoints -> (..., 9, 3) NADS keypoints (v >= 1 kept; neck needs both shoulders)."""
    kps17 = np.asarray(kps17, dtype=np.float32)
    out = np.zeros(kps17.shape[:-2] + (NUM_KEYPOINTS, 3), np.float32)
    for j, c in enumerate(COCO_TO_NADS):
        if c >= 0:
            out[..., j, :] = kps17[..., c, :]
    ls, rs = kps17[..., 5, :], kps17[..., 6, :]
    both = (ls[..., 2] >= 1) & (rs[..., 2] >= 1)
    out[..., 3, :2] = np.where(both[..., None], (ls[..., :2] + rs[..., :2]) / 2, 0.0)
    out[..., 3, 2] = np.where(both, np.minimum(ls[..., 2], rs[..., 2]), 0.0)
    out[out[..., 2] < 1] = 0.0
    return out


def _labelled(ann: dict, path: Path) -> float:
    """An annotation's ``num_keypoints`` (0 when absent); a one-line error when it is not a number."""
    n = ann.get("num_keypoints", 0)
    if isinstance(n, bool) or not isinstance(n, int | float):
        raise DataFormatError(f"{path}: annotation {ann.get('id', '?')} has num_keypoints {n!r}, not a number")
    return n


def read_coco(annotation_json: str | Path, image_dir: str | Path) -> list[Sample]:
    """Read format (b) with pycocotools: every image with at least one non-crowd annotated person."""
    from pycocotools.coco import COCO

    path = Path(annotation_json)
    if path.is_dir():
        raise DataFormatError(f"{path}: is a folder; give the COCO person_keypoints_*.json file")
    if not path.is_file():
        raise DatasetMissingError(f"{path}: COCO keypoint file not found")
    doc = _load_json(path)
    if not isinstance(doc, dict) or not {"images", "annotations", "categories"} <= set(doc):
        raise DataFormatError(f"{path}: expected COCO keys 'images', 'annotations', 'categories'")
    for i, img in enumerate(doc["images"] if isinstance(doc["images"], list) else [None]):
        if not isinstance(img, dict) or not {"id", "file_name", "width", "height"} <= set(img):
            raise DataFormatError(f"{path}: image {i} lacks id/file_name/width/height")
        _check_size(img["width"], img["height"], f"{path}: image {i} ({img['file_name']})")
    coco = COCO()
    coco.dataset = doc
    try:
        coco.createIndex()
    except (KeyError, TypeError, AttributeError) as e:
        raise DataFormatError(f"{path}: malformed COCO file ({type(e).__name__}: {e})") from None
    samples = []
    for iid in sorted(coco.getImgIds()):
        info = coco.imgs[iid]
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=iid, iscrowd=False)) if _labelled(a, path) > 0]
        if not anns:
            continue
        kps = np.stack([_keypoints_array(a["keypoints"], 17, path, a.get("id", -1)) for a in anns])
        samples.append(Sample(Path(image_dir) / info["file_name"], None, coco17_to_nads9(kps),
                              int(info["width"]), int(info["height"])))
    return samples


def _register_datasets() -> None:
    """The data sets this package reads, registered beside their reader (motionkit's catalogue); replace=True so
    that importing this module again (the import-rule test does) re-registers the same reader."""
    from motionkit.datasets.registry import DatasetSpec, register

    register(DatasetSpec(
        name="nads-project-sample",
        description="the Pose-Driven Image Generation project's sample: one training and one validation in-car "
                    "frame (Raw_Images/, Seatbelt_Mask/, Train/Valid_keypoint_Annotation_sample.json)",
        homepage="https://github.com/ssiemonsma/Pose_Driven_Image_Generation",
        licence="proprietary NADS-Net data (sample shared by the author); no licence for redistribution",
        redistributable=False, loader=read_original,
        how_to_get="download the project's Data_and_Pretrained_Weights folder (OneDrive link in its README) and "
                   "pass --train_root/--val_root <folder>/NADS_Net_Sample_Data"), replace=True)
    register(DatasetSpec(
        name="nads-synthetic",
        description="procedural in-cabin frames in the project's layout (train/val narrow arms, test_wide wide)",
        homepage="https://github.com/ssiemonsma/Pose_Driven_Image_Generation",
        licence="generated on your machine by this package (no third-party content)",
        redistributable=True, loader=read_original,
        how_to_get="python -m nads_spade.main make-synthetic --config cpu_small"), replace=True)


_register_datasets()
