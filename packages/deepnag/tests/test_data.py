"""Readers of the real formats (on files the tests write), malformed-file errors, synthetic sets, preprocessing."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from deepnag.data import (
    DOLLAR_CLASSES,
    JK2017_CLASSES,
    MinMaxNormalizer,
    epoch_batches,
    load_dollar_gds,
    load_jk2017,
    pick_partners,
    prepare,
    read_dollar_xml,
    read_jk2017_file,
    resample_path,
    write_dollar_xml,
    write_jk2017_file,
)
from deepnag.data.synthetic_kinect import write_synthetic_kinect
from deepnag.data.synthetic_pen import write_synthetic_pen
from motionkit.errors import DataFormatError, DatasetMissingError, run_cli

DEV = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"

# a $1 log exactly as the real files look (BOM, CRLF, attributes of the official logs)
DOLLAR_SAMPLE = (
    '\ufeff<?xml version="1.0" encoding="utf-8" standalone="yes"?>\r\n'
    '<Gesture Name="check03" Subject="4" Speed="medium" Number="3" NumPts="4" Millseconds="40" AppName="Gestures" '
    'AppVer="3.5.0.0" Date="Monday, March 05, 2007" TimeOfDay="9:12:24 PM">\r\n'
    '  <Point X="50" Y="242" T="11435895" />\r\n  <Point X="52" Y="250" T="11435910" />\r\n'
    '  <Point X="60" Y="255" T="11435922" />\r\n  <Point X="90" Y="200" T="11435935" />\r\n</Gesture>'
)


def _jk_text(name="duck", frames=2):
    lines = [name, str(frames)]
    for f in range(frames):
        lines.append("####")
        lines += [f"{0.01 * j},{-0.4 + 0.05 * j + 0.001 * f},2.5" for j in range(21)]
    return "\n".join(lines) + "\n"


def test_read_dollar_xml_real_layout(tmp_path):
    path = tmp_path / "xml_logs" / "s04" / "medium" / "check03.xml"
    path.parent.mkdir(parents=True)
    path.write_text(DOLLAR_SAMPLE, encoding="utf-8", newline="")
    label, pts, attrs = read_dollar_xml(path)
    assert label == "check" and attrs["Speed"] == "medium"
    np.testing.assert_array_equal(pts[:, :2], [[50, 242], [52, 250], [60, 255], [90, 200]])
    (tmp_path / "xml_logs" / "s01 (pilot)" / "medium").mkdir(parents=True)  # pilot is skipped
    shutil.copy(path, tmp_path / "xml_logs" / "s01 (pilot)" / "medium" / "check03.xml")
    gs = load_dollar_gds(tmp_path)
    assert len(gs) == 1 and gs.class_names[gs.labels[0]] == "check" and gs.subjects == ["s04"]


def test_dollar_writer_roundtrip(tmp_path):
    pts = np.array([[10, 20, 100], [11, 25, 110], [30, 40, 125]])
    write_dollar_xml(tmp_path / "a" / "star07.xml", "star07", 3, "medium", 7, pts)
    label, back, attrs = read_dollar_xml(tmp_path / "a" / "star07.xml")
    assert label == "star" and attrs["NumPts"] == "3"
    np.testing.assert_array_equal(back, pts)


@pytest.mark.parametrize("text, problem", [
    ("<Gesture Name='x01'><Point X='1' Y='2' T='3'/>", "not a valid $1 XML log"),
    ("<Gesture Name='x01'><Point X='1' Y='oops' T='3'/><Point X='1' Y='2' T='3'/></Gesture>", "non-numeric"),
    ("<Gesture Name='x01' NumPts='5'><Point X='1' Y='2' T='3'/><Point X='1' Y='2' T='4'/></Gesture>", "NumPts=5"),
    ("<Strokes/>", "expected <Gesture>"),
])
@pytest.mark.fault(4, "a malformed $1 XML file read by read_dollar_xml")
def test_malformed_dollar_file_is_one_line_error_naming_it(tmp_path, text, problem):
    path = tmp_path / "bad.xml"
    path.write_text(text)
    with pytest.raises(DataFormatError) as err:
        read_dollar_xml(path)
    msg = str(err.value)
    assert str(path) in msg and problem in msg and "\n" not in msg


def test_read_jk2017_real_layout_and_roundtrip(tmp_path):
    path = tmp_path / "training" / "Sub_U100" / "duck" / "ex_1.txt"
    path.parent.mkdir(parents=True)
    path.write_text(_jk_text())
    name, frames = read_jk2017_file(path)
    assert name == "duck" and frames.shape == (2, 21, 3)
    assert frames[1, 3, 1] == pytest.approx(-0.4 + 0.15 + 0.001)
    write_jk2017_file(tmp_path / "rt.txt", "duck", frames)
    np.testing.assert_allclose(read_jk2017_file(tmp_path / "rt.txt")[1], frames, rtol=1e-6)
    gs = load_jk2017(tmp_path)
    assert len(gs) == 1 and gs.n_features == 63 and gs.subjects == ["Sub_U100"]
    assert gs.class_names == list(JK2017_CLASSES)


@pytest.mark.parametrize("mutate, problem", [
    (lambda t: t.replace("2\n####", "3\n####", 1), "header says 3 frames"),
    (lambda t: t.replace("0.01,", "0.01;", 1), "expected 'x,y,z'"),
    (lambda t: t.replace("duck", "push", 1), "does not match its folder"),
    (lambda t: "duck\ntwo\n", "frame count"),
])
@pytest.mark.fault(4, "a malformed JK2017 file read by load_jk2017")
def test_malformed_jk2017_file_is_one_line_error_naming_it(tmp_path, mutate, problem):
    path = tmp_path / "training" / "Sub_U100" / "duck" / "ex_1.txt"
    path.parent.mkdir(parents=True)
    path.write_text(mutate(_jk_text()))
    with pytest.raises(DataFormatError) as err:
        load_jk2017(tmp_path)
    msg = str(err.value)
    assert str(path) in msg and problem in msg and "\n" not in msg


@pytest.mark.fault(4, "a malformed JK2017 file through the CLI")
def test_cli_reports_malformed_file_in_one_line(tmp_path, capsys):
    from deepnag.main import main

    path = tmp_path / "training" / "Sub_U100" / "duck" / "ex_1.txt"
    path.parent.mkdir(parents=True)
    path.write_text(_jk_text().replace("0.01,", "0.01;", 1))
    code = run_cli(main, ["--dataset=jk2017-kinect", f"--data-root={tmp_path}", "--epochs=1",
                          f"--log-dir={tmp_path / 'logs'}", "--device=cpu"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and str(path) in err and len(err.splitlines()) == 1


@pytest.mark.fault(4, "a data root without the data set")
@pytest.mark.parametrize("loader,problem", [(load_jk2017, "no JK2017 Kinect data found"),
                                            (load_dollar_gds, "no \\$1-GDS logs found")])
def test_missing_data_root_is_one_line(tmp_path, loader, problem):
    with pytest.raises(DatasetMissingError, match=problem):
        loader(tmp_path)


def test_synthetic_pen_goes_through_the_real_loader(tmp_path):
    write_synthetic_pen(tmp_path, n_subjects=1, n_repetitions=2, seed=3)
    gs = load_dollar_gds(tmp_path)
    assert len(gs) == 16 * 2 and sorted(set(gs.labels.tolist())) == list(range(16))
    assert gs.class_names == list(DOLLAR_CLASSES)
    lengths = [len(s) for s in gs.sequences]
    assert min(lengths) >= 30 and max(lengths) <= 177  # the range of the real medium logs
    # integer pixels, y down, roughly the real logs' canvas
    allpts = np.concatenate(gs.sequences)
    assert np.all(allpts == np.round(allpts)) and allpts.min() > -100 and allpts.max() < 400


def test_synthetic_kinect_goes_through_the_real_loader(tmp_path):
    write_synthetic_kinect(tmp_path, n_subjects=1, n_repetitions=1, seed=3)
    gs = load_jk2017(tmp_path)
    assert len(gs) == 14 and gs.n_features == 63
    frames = np.stack(gs.sequences).reshape(14, 120, 21, 3)
    assert 1.5 < frames[..., 2].mean() < 3.5  # metres in front of the camera, like Kinect v2
    # the classes differ: per-class mean motion is not all the same
    motion = np.abs(np.diff(frames, axis=1)).sum(axis=(1, 2, 3))
    assert motion.std() > 0.1 * motion.mean()


def test_resample_path_is_equidistant_and_keeps_ends():
    pts = np.array([[0, 0], [1, 0], [1, 0], [1, 3]], dtype=float)  # includes a zero-length segment
    r = resample_path(pts, 9)
    seg = np.linalg.norm(np.diff(r, axis=0), axis=1)
    np.testing.assert_allclose(seg, 4 / 8)
    np.testing.assert_allclose(r[0], [0, 0])
    np.testing.assert_allclose(r[-1], [1, 3])
    assert resample_path(np.ones((5, 3)), 4).shape == (4, 3)


def test_minmax_normalizer_global_per_feature():
    seqs = [np.array([[0.0, 10.0], [2.0, 30.0]]), np.array([[4.0, 20.0]])]
    norm = MinMaxNormalizer.fit(seqs)
    np.testing.assert_allclose(norm.normalize(np.array([[0.0, 10.0], [4.0, 30.0], [2.0, 20.0]])),
                               [[-1, -1], [1, 1], [0, 0]])
    np.testing.assert_allclose(norm.unnormalize(norm.normalize(seqs[0])), seqs[0])
    back = MinMaxNormalizer.from_state_dict(norm.state_dict())
    np.testing.assert_allclose(back.lo, norm.lo)


def test_prepare_shapes_and_range(tmp_path):
    write_synthetic_pen(tmp_path, n_subjects=1, n_repetitions=1)
    data = prepare(load_dollar_gds(tmp_path), 64)
    assert data.x.shape == (16, 64, 2) and data.x.min() >= -1 - 1e-6 and data.x.max() <= 1 + 1e-6


def test_pick_partners_same_class_different_sample():
    labels = np.array([0, 0, 0, 1, 1, 2])
    batch = np.array([0, 1, 2, 3, 4, 5])
    partners = pick_partners(batch, labels, random.Random(0))
    assert np.all(labels[partners] == labels[batch])
    assert np.all(partners[:5] != batch[:5])
    assert partners[5] == 5  # a class with a single sample pairs it with itself


def test_epoch_batches_deterministic_and_sharded():
    a = epoch_batches(10, 4, seed=1, epoch=3)
    assert [list(b) for b in a] == [list(b) for b in epoch_batches(10, 4, seed=1, epoch=3)]
    assert sorted(np.concatenate(a).tolist()) == list(range(10))
    r0 = np.concatenate(epoch_batches(10, 4, 1, 3, rank=0, world_size=2))
    r1 = np.concatenate(epoch_batches(10, 4, 1, 3, rank=1, world_size=2))
    assert len(set(r0) & set(r1)) == 0 and len(r0) + len(r1) == 10


@pytest.mark.skipif(not (DEV / "jk2017-kinect" / "kinect" / "training").is_dir(), reason="dev copy absent")
def test_real_jk2017_files_if_present(tmp_path):
    src = DEV / "jk2017-kinect" / "kinect" / "training" / "Sub_U100"
    for gesture in ("duck", "kick_left"):
        dest = tmp_path / "training" / "Sub_U100" / gesture
        dest.mkdir(parents=True)
        shutil.copy(src / gesture / "ex_1.txt", dest / "ex_1.txt")
    gs = load_jk2017(tmp_path)
    assert len(gs) == 2 and all(s.shape == (120, 63) for s in gs.sequences)


@pytest.mark.skipif(not (DEV / "dollar-gds" / "xml_logs").is_dir(), reason="dev copy absent")
def test_real_dollar_files_if_present(tmp_path):
    src = DEV / "dollar-gds" / "xml_logs" / "s02" / "medium"
    dest = tmp_path / "xml_logs" / "s02" / "medium"
    dest.mkdir(parents=True)
    for name in ("arrow01.xml", "pigtail05.xml"):
        shutil.copy(src / name, dest / name)
    gs = load_dollar_gds(tmp_path)
    assert [gs.class_names[i] for i in gs.labels] == ["arrow", "pigtail"]


def test_our_data_sets_are_registered_beside_their_readers():
    from motionkit.datasets import get_spec
    from motionkit.datasets.registry import load_function

    for name, fn in (("dollar-gds", load_dollar_gds), ("jk2017-kinect", load_jk2017),
                     ("synthetic-pen", load_dollar_gds), ("synthetic-kinect", load_jk2017)):
        assert load_function(name) is fn
    assert get_spec("dollar-gds").manifest and get_spec("jk2017-kinect").manifest
    assert get_spec("synthetic-pen").extra["writer"] is write_synthetic_pen
