"""Readers of the two real annotation formats, both returning a list of :class:`Sample`.

(a) The original project's layout::

    root/Raw_Images/<name>.jpg|png            camera frames (1920x1080 in the original)
    root/Seatbelt_Mask/<name>.png             belt mask, channel 0, 255 = belt (optional per image)
    root/<anything>_keypoint_Annotation*.json COCO-style: images[{id, file_name, width, height}],
                                              annotations[{image_id, keypoints: 9 x (x, y, v)}],
                                              categories[{keypoints: the 9 names}]

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

from motionkit.errors import DataFormatError, DatasetMissingError
from nads_spade.labels import KEYPOINT_NAMES, NUM_KEYPOINTS

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
    """Read format (a) under ``root`` (see module docstring)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetMissingError(f"{root}: data folder not found (render one with "
                                  "`python -m nads_spade.main make-synthetic`)")
    files = sorted(root.glob("*_keypoint_Annotation*.json"))
    if not files:
        raise DatasetMissingError(f"{root}: no *_keypoint_Annotation*.json file")
    raw_dir, mask_dir = root / "Raw_Images", root / "Seatbelt_Mask"
    samples: list[Sample] = []
    for path in files:
        doc = _load_json(path)
        if not isinstance(doc, dict) or "images" not in doc or "annotations" not in doc:
            raise DataFormatError(f"{path}: expected a JSON object with 'images' and 'annotations'")
        people: dict[int, list[np.ndarray]] = {}
        for i, ann in enumerate(doc["annotations"]):
            if not isinstance(ann, dict) or "image_id" not in ann or "keypoints" not in ann:
                raise DataFormatError(f"{path}: annotation {i} lacks 'image_id' or 'keypoints'")
            people.setdefault(ann["image_id"], []).append(_keypoints_array(ann["keypoints"], NUM_KEYPOINTS,
                                                                           path, i))
        for i, img in enumerate(doc["images"]):
            try:
                iid, name, w, h = img["id"], img["file_name"], int(img["width"]), int(img["height"])
            except (KeyError, TypeError, ValueError):
                raise DataFormatError(f"{path}: image {i} lacks id/file_name/width/height") from None
            image_path = raw_dir / name
            if not image_path.is_file():
                raise DataFormatError(f"{path}: image {i} refers to missing file {image_path}")
            mask_path = mask_dir / (Path(name).stem + ".png")
            joints = people.get(iid, [])
            arr = np.stack(joints) if joints else np.zeros((0, NUM_KEYPOINTS, 3), np.float32)
            samples.append(Sample(image_path, mask_path if mask_path.is_file() else None, arr, w, h))
    return samples


def write_original_annotation(path: str | Path, entries: list[dict]) -> None:
    """Write a format-(a) annotation file. entries: [{file_name, width, height, people: (P, 9, 3)}]."""
    images, anns = [], []
    for i, e in enumerate(entries):
        images.append({"id": i + 1, "file_name": e["file_name"], "width": e["width"], "height": e["height"]})
        for p in np.asarray(e["people"]).reshape(-1, NUM_KEYPOINTS, 3):
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1,
                         "num_keypoints": int((p[:, 2] >= 1).sum()),
                         "keypoints": [round(float(v), 2) for v in p.reshape(-1)]})
    cats = [{"id": 1, "name": "person", "keypoints": list(KEYPOINT_NAMES),
             "skeleton": [[4, 3], [3, 2], [2, 1], [4, 5], [5, 6], [6, 7], [4, 8], [4, 9]]}]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)


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


def read_coco(annotation_json: str | Path, image_dir: str | Path) -> list[Sample]:
    """Read format (b) with pycocotools: every image with at least one non-crowd annotated person."""
    from pycocotools.coco import COCO

    path = Path(annotation_json)
    if not path.is_file():
        raise DatasetMissingError(f"{path}: COCO keypoint file not found")
    doc = _load_json(path)
    if not isinstance(doc, dict) or not {"images", "annotations", "categories"} <= set(doc):
        raise DataFormatError(f"{path}: expected COCO keys 'images', 'annotations', 'categories'")
    coco = COCO()
    coco.dataset = doc
    try:
        coco.createIndex()
    except (KeyError, TypeError) as e:
        raise DataFormatError(f"{path}: malformed COCO file ({e})") from None
    samples = []
    for iid in sorted(coco.getImgIds()):
        info = coco.imgs[iid]
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=iid, iscrowd=False)) if a.get("num_keypoints", 0) > 0]
        if not anns:
            continue
        kps = np.stack([_keypoints_array(a["keypoints"], 17, path, a.get("id", -1)) for a in anns])
        samples.append(Sample(Path(image_dir) / info["file_name"], None, coco17_to_nads9(kps),
                              int(info["width"]), int(info["height"])))
    return samples
