import json

import numpy as np
import pytest
from PIL import Image

from motionkit.errors import DataFormatError
from nads_spade.data.dataset import NadsDataset
from nads_spade.data.formats import coco17_to_nads9, read_coco, read_original
from nads_spade.main import main


def test_synthetic_set_reads_back_through_the_original_loader(tiny_data):
    assert (tiny_data / "train" / "Raw_Images").is_dir() and (tiny_data / "train" / "Seatbelt_Mask").is_dir()
    assert list((tiny_data / "train").glob("*_keypoint_Annotation*.json"))
    samples = read_original(tiny_data / "train")
    assert len(samples) == 8 and all(s.mask_path is not None for s in samples)
    assert all(s.joints.shape[1:] == (9, 3) and (s.joints[0, :, 2] >= 1).sum() >= 7 for s in samples)
    item = NadsDataset(samples, 64, 2)[0]
    assert item["image"].shape == (3, 64, 64) and 0 <= item["image"].min() and item["image"].max() <= 1
    assert item["joints"].shape == (2, 9, 3) and item["belt"].shape == (1, 64, 64)
    assert item["belt"].max() > 0.5 and item["belt_valid"] == 1
    vis = item["joints"][0, :, 2] >= 1
    assert (item["joints"][0, vis, :2] >= 0).all() and (item["joints"][0, vis, :2] < 64).all()


def write_coco(tmp_path, people):
    Image.new("RGB", (100, 80), (10, 20, 30)).save(tmp_path / "img.jpg")
    doc = {"images": [{"id": 7, "file_name": "img.jpg", "width": 100, "height": 80}],
           "annotations": [{"id": i + 1, "image_id": 7, "category_id": 1, "iscrowd": 0, "area": 100.0,
                            "bbox": [0, 0, 10, 10], "num_keypoints": int((np.asarray(p)[2::3] > 0).sum()),
                            "keypoints": p} for i, p in enumerate(people)],
           "categories": [{"id": 1, "name": "person"}]}
    path = tmp_path / "person_keypoints_val.json"
    path.write_text(json.dumps(doc))
    return path


def test_coco_17_to_9_mapping_on_a_written_file(tmp_path):
    kp = np.zeros((17, 3))
    for c in range(17):
        kp[c] = (c * 2.0 + 1, c * 3.0 + 2, 2)
    kp[7, 2] = 1  # left elbow labelled but occluded: kept (v >= 1)
    kp[9] = 0      # left wrist unlabelled
    one_shoulder = kp.copy()
    one_shoulder[6] = 0
    path = write_coco(tmp_path, [kp.reshape(-1).tolist(), one_shoulder.reshape(-1).tolist()])
    samples = read_coco(path, tmp_path)
    assert len(samples) == 1 and samples[0].joints.shape == (2, 9, 3) and samples[0].mask_path is None
    j = samples[0].joints[0]
    for nads, coco in ((0, 10), (1, 8), (2, 6), (4, 5), (5, 7), (7, 12), (8, 11)):
        assert tuple(j[nads, :2]) == tuple(kp[coco, :2])
    assert j[5, 2] == 1 and j[6, 2] == 0
    assert tuple(j[3]) == ((kp[5, 0] + kp[6, 0]) / 2, (kp[5, 1] + kp[6, 1]) / 2, 2)
    assert samples[0].joints[1, 3, 2] == 0  # neck needs both shoulders
    assert coco17_to_nads9(kp[None])[0, 3, 2] == 2


@pytest.mark.parametrize("content, problem", [
    ("{not json", "not valid JSON"),
    (json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                 "annotations": [{"image_id": 1, "keypoints": [1, 2, 2] * 8}]}), "expected 27"),
    (json.dumps({"images": []}), "expected a JSON object with an 'annotations' list"),
    (json.dumps({"annotations": [{"image_id": "a", "keypoints": [1, 2, 2] * 9}]}), "lacks 'image_id', 'label'"),
    (json.dumps({"annotations": [{"image_id": "nope", "label": "Person", "keypoints": [1, 2, 2] * 9}]}),
     "missing file"),
])
@pytest.mark.fault(4, "a malformed annotation file of the project's layout")
def test_malformed_annotation_is_one_line_naming_the_file(tmp_path, content, problem):
    (tmp_path / "Raw_Images").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "Raw_Images" / "a.jpg")
    bad = tmp_path / "cabin_keypoint_Annotation.json"
    bad.write_text(content)
    with pytest.raises(DataFormatError) as e:
        read_original(tmp_path)
    msg = str(e.value)
    assert str(bad) in msg and problem in msg and "\n" not in msg


@pytest.mark.fault(4, "train-nads on a truncated annotation JSON")
def test_cli_reports_malformed_file_in_one_line(tmp_path, capsys):
    from motionkit.errors import run_cli

    (tmp_path / "Raw_Images").mkdir()
    bad = tmp_path / "x_keypoint_Annotation.json"
    bad.write_text("[1, 2")
    code = run_cli(main, ["train-nads", "--train_root", str(tmp_path), "--log_dir", str(tmp_path / "runs"),
                          "--tensorboard", "0", "--device", "cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error:") and str(bad) in err


def write_project_layout(root, people_per_image):
    """The project's exact layout: Raw_Images/<id>.png, Seatbelt_Mask/<id>.png, Train_keypoint_Annotation_*.json
    with annotations[{image_id (Windows separators), label, keypoints}] and no images list."""
    (root / "Raw_Images" / "session1").mkdir(parents=True)
    (root / "Seatbelt_Mask" / "session1").mkdir(parents=True)
    anns = []
    for i, people in enumerate(people_per_image):
        Image.new("RGB", (192, 108), (50 + i, 60, 70)).save(root / "Raw_Images" / "session1" / f"frame{i}.png")
        mask = np.zeros((108, 192, 3), np.uint8)
        mask[20:60, 40:50] = 255
        Image.fromarray(mask).save(root / "Seatbelt_Mask" / "session1" / f"frame{i}.png")
        for kp in people:
            anns.append({"image_id": f"session1\\frame{i}", "label": "Person", "keypoints": kp})
        anns.append({"image_id": f"session1\\frame{i}", "label": "Steering_Wheel", "keypoints": [0] * 27})
    (root / "Train_keypoint_Annotation_sample.json").write_text(json.dumps({"annotations": anns}))


def test_project_schema_keeps_every_person_and_resolves_paths(tmp_path):
    person = [float(v) for k in range(9) for v in (20 + 10 * k, 30 + 5 * k, 2)]
    hidden = list(person)
    hidden[2] = 0            # R-wrist v = 0
    hidden[3] = -1.0         # R-elbow x < 0: unlabelled, as the project's loader drops it
    write_project_layout(tmp_path, [[person, hidden, person], [person]])
    samples = read_original(tmp_path)
    assert [len(s.joints) for s in samples] == [3, 1]
    s0 = samples[0]
    assert s0.image_path == tmp_path / "Raw_Images" / "session1" / "frame0.png"
    assert s0.mask_path == tmp_path / "Seatbelt_Mask" / "session1" / "frame0.png"
    assert (s0.width, s0.height) == (192, 108)
    assert s0.joints[1, 0, 2] == 0 and s0.joints[1, 1, 2] == 0 and s0.joints[1, 2, 2] == 2
    ds = NadsDataset(samples, 64)
    item = ds[0]
    assert item["joints"].shape == (3, 9, 3) and ds[1]["joints"].shape == (3, 9, 3)  # all three people kept
    assert item["joints"][2, 3, 0] == pytest.approx(50 * 64 / 192) and item["belt"].max() > 0.5
    with pytest.raises(DataFormatError, match="3 annotated people, more than max_people 2"):
        NadsDataset(samples, 64, max_people=2)
