"""Tracking readers on tiny trees in the exact DAVIS-2017, OTB and MOTChallenge layouts."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_modules.frame_folders import FrameFolderError
from data_modules.tracking_readers import OTB, OTB_ANNOTATED_FROM, Davis2017, MOTChallenge, TrackingDataError


def _jpegs(folder: Path, names: list[str], size: tuple[int, int] = (16, 12)) -> None:
    folder.mkdir(parents=True)
    for name in names:
        Image.new("RGB", size, (90, 120, 150)).save(folder / name)


def _palette_png(path: Path, labels: np.ndarray) -> None:
    image = Image.fromarray(labels.astype(np.uint8), mode="P")
    image.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [255, 255, 255] * 253)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


@pytest.fixture()
def davis(tmp_path: Path) -> Path:
    _jpegs(tmp_path / "JPEGImages/480p/cows", [f"{i:05d}.jpg" for i in range(3)])
    for i in range(3):
        labels = np.zeros((12, 16), np.uint8)
        labels[2:5, 3 + i : 6 + i] = 1
        labels[8:10, 10:14] = 2
        labels[0, 0] = 255
        _palette_png(tmp_path / f"Annotations/480p/cows/{i:05d}.png", labels)
    (tmp_path / "ImageSets/2017").mkdir(parents=True)
    (tmp_path / "ImageSets/2017/val.txt").write_text("cows\n")
    (tmp_path / "ImageSets/2017/train.txt").write_text("")
    return tmp_path


def test_davis_reads_palette_indices_and_void(davis: Path) -> None:
    reader = Davis2017(davis)
    assert reader.sequences("val") == ["cows"] and reader.sequences("train") == []
    seq = reader.sequence("cows")
    assert seq.masks.shape == (3, 12, 16) and seq.num_objects == 2
    assert seq.masks[1, 2, 4] == 1 and seq.masks[1, 8, 10] == 2
    assert seq.void[:, 0, 0].all() and seq.masks[:, 0, 0].tolist() == [0, 0, 0]  # void -> 0, kept aside


def test_davis_wrong_size_png_and_missing_frame_are_named(davis: Path) -> None:
    png = davis / "Annotations/480p/cows/00001.png"
    _palette_png(png, np.zeros((10, 16), np.uint8))
    with pytest.raises(TrackingDataError, match=re.escape(f"{png}: annotation is 16x10, frames 16x12")):
        Davis2017(davis).sequence("cows")
    (davis / "JPEGImages/480p/cows/00001.jpg").unlink()
    folder = davis / "JPEGImages/480p/cows"
    with pytest.raises(FrameFolderError, match=re.escape(f"{folder}: frame 1 is missing (a gap after 00000.jpg)")):
        Davis2017(davis).sequence("cows")
    with pytest.raises(ValueError, match="'test'"):
        Davis2017(davis).sequences("test")


def test_otb_separators_and_one_based_boxes(tmp_path: Path) -> None:
    _jpegs(tmp_path / "Car/img", [f"{i:04d}.jpg" for i in range(1, 4)])
    (tmp_path / "Car/groundtruth_rect.txt").write_text("1,2,5,4\n2\t3\t5\t4\n3 4  5 4\n")
    seq = OTB(tmp_path).sequence("Car")
    assert OTB(tmp_path).sequences() == ["Car"]
    np.testing.assert_array_equal(seq.boxes, [[0, 1, 5, 4], [1, 2, 5, 4], [2, 3, 5, 4]])


def test_otb_box_outside_and_count_mismatch(tmp_path: Path) -> None:
    _jpegs(tmp_path / "Car/img", [f"{i:04d}.jpg" for i in range(1, 3)])
    gt = tmp_path / "Car/groundtruth_rect.txt"
    gt.write_text("1,2,5,4\n17,2,5,4\n")
    with pytest.raises(TrackingDataError, match=re.escape(f"{gt}: line 2: box [16.0, 1.0, 5.0, 4.0]") + ".*outside"):
        OTB(tmp_path).sequence("Car")
    gt.write_text("1,2,5,4\n")
    with pytest.raises(TrackingDataError, match="1 boxes for 2 frames"):
        OTB(tmp_path).sequence("Car")


@pytest.fixture()
def mot(tmp_path: Path) -> Path:
    seq = tmp_path / "train/SEQ-01"
    _jpegs(seq / "img1", [f"{i:06d}.jpg" for i in range(1, 4)])
    (seq / "seqinfo.ini").write_text(
        "[Sequence]\nname=SEQ-01\nimDir=img1\nframeRate=10\nseqLength=3\nimWidth=16\nimHeight=12\nimExt=.jpg\n"
    )
    (seq / "gt").mkdir()
    (seq / "gt/gt.txt").write_text("1,1,2,2,4,4,1,1,1.0\n2,1,3,2,4,4,1,1,0.8\n3,1,4,2,4,4,0,1,1.0\n")
    (seq / "det").mkdir()
    (seq / "det/det.txt").write_text("1,-1,2,2,4,4,0.9,-1,-1,-1\n3,-1,4,2,4,4,0.7,-1,-1,-1\n")
    return tmp_path


def test_mot_columns(mot: Path) -> None:
    reader = MOTChallenge(mot, "train")
    assert reader.sequences() == ["SEQ-01"]
    seq = reader.sequence("SEQ-01")
    assert (seq.width, seq.height, seq.frame_rate) == (16, 12, 10.0)
    assert seq.gt.shape == (3, 9) and seq.gt[2, 6] == 0 and seq.gt[1, 8] == 0.8
    np.testing.assert_array_equal(seq.detections(3), [[4, 2, 4, 4, 0.7]])
    assert seq.detections(2).shape == (0, 5)


def test_mot_keeps_boxes_wholly_outside_the_image_as_trackeval_scores_them(mot: Path, caplog) -> None:
    gt = mot / "train/SEQ-01/gt/gt.txt"
    gt.write_text(gt.read_text() + "2,3,17,2,4,4,1,1,1\n2,4,-4,2,4,4,1,1,1\n")  # right of x = 16; left of x = 1
    with caplog.at_level(logging.INFO, logger="data_modules.tracking_readers"):
        seq = MOTChallenge(mot).sequence("SEQ-01")
    assert seq.gt.shape == (5, 9) and seq.gt[3:, 1].tolist() == [3, 4]
    assert f"{gt}: 2 boxes lie wholly outside the 16x12 image (first on line 4)" in caplog.text


def test_mot_bad_input_named(mot: Path) -> None:
    det = mot / "train/SEQ-01/det/det.txt"
    for empty in ("", "\n\n"):
        det.write_text(empty)
        with pytest.raises(TrackingDataError, match=re.escape(f"{det}: no detections (empty file)")):
            MOTChallenge(mot).sequence("SEQ-01")
    det.write_text("1,-1,40,2,4,0,0.9\n")
    with pytest.raises(TrackingDataError, match=re.escape(f"{det}: line 1: box [40.0, 2.0, 4.0, 0.0] is empty")):
        MOTChallenge(mot).sequence("SEQ-01")
    det.write_text("4,-1,2,2,4,4,0.9\n")
    with pytest.raises(TrackingDataError, match=r"det\.txt: line 1: frame 4 is not in 1..3"):
        MOTChallenge(mot).sequence("SEQ-01")
    (mot / "train/SEQ-01/img1/000002.jpg").unlink()
    folder = mot / "train/SEQ-01/img1"
    with pytest.raises(FrameFolderError, match=re.escape(f"{folder}: frame 2 is missing (a gap after 000001.jpg)")):
        MOTChallenge(mot).sequence("SEQ-01")


def test_otb_100_as_distributed_offsets_targets_and_absent_boxes(tmp_path: Path, monkeypatch) -> None:
    # David: 8 images, boxes only from image 0005 on (OTB-100's David: 770 images, boxes for 300-770).
    assert OTB_ANNOTATED_FROM["David"] == 300
    monkeypatch.setitem(OTB_ANNOTATED_FROM, "David", 5)
    _jpegs(tmp_path / "David/img", [f"{i:04d}.jpg" for i in range(1, 9)])
    (tmp_path / "David/groundtruth_rect.txt").write_text("2,2,3,3\n" * 4)
    # Jogging: two targets; Human4: only its second; a stray empty groundtruth_rect1.txt is no sequence.
    for folder in ("Jogging", "Human4"):
        _jpegs(tmp_path / folder / "img", [f"{i:04d}.jpg" for i in range(1, 3)])
    (tmp_path / "Jogging/groundtruth_rect.1.txt").write_text("1,1,3,3\n1,1,3,3\n")
    (tmp_path / "Jogging/groundtruth_rect.2.txt").write_text("4,4,3,3\n4,4,3,3\n")
    (tmp_path / "Human4/groundtruth_rect.2.txt").write_text("2,2,3,3\n2,2,3,3\n")
    (tmp_path / "Human4/groundtruth_rect1.txt").write_text("")
    # Board: the last box is 0,0,0,0 (the target has left): kept, for the metrics to leave out.
    _jpegs(tmp_path / "Board/img", [f"{i:05d}.jpg" for i in range(1, 4)])
    (tmp_path / "Board/groundtruth_rect.txt").write_text("2,2,3,3\n2,2,3,3\n0,0,0,0\n")
    reader = OTB(tmp_path)
    assert reader.sequences() == ["Board", "David", "Human4-2", "Jogging-1", "Jogging-2"]
    david = reader.sequence("David")
    assert (david.start, len(david.boxes)) == (4, 4)
    np.testing.assert_array_equal(reader.sequence("Jogging-2").boxes[0], [3, 3, 3, 3])
    np.testing.assert_array_equal(reader.sequence("Board").boxes[-1], [-1, -1, 0, 0])
    _jpegs(tmp_path / "Diving/img", [f"{i:04d}.jpg" for i in range(1, 6)])  # boxes end before the images
    (tmp_path / "Diving/groundtruth_rect.txt").write_text("2,2,3,3\n" * 3)
    diving = reader.sequence("Diving")
    assert (diving.start, len(diving.boxes)) == (0, 3)
    (tmp_path / "Diving/groundtruth_rect.txt").write_text("2,2,3,3\n" * 6)
    with pytest.raises(TrackingDataError, match="6 boxes for 5 frames"):
        reader.sequence("Diving")
    # Tiger1: one box an image, the toolkit tracks from image 6 with box 6 (initOmit 5).
    _jpegs(tmp_path / "Tiger1/img", [f"{i:04d}.jpg" for i in range(1, 9)])
    (tmp_path / "Tiger1/groundtruth_rect.txt").write_text("".join(f"{i},2,3,3\n" for i in range(1, 9)))
    tiger = reader.sequence("Tiger1")
    assert tiger.start == 5 and tiger.boxes[:, 0].tolist() == [5, 6, 7]
    (tmp_path / "Tiger1/groundtruth_rect.txt").write_text("2,2,3,3\n" * 5)
    for extra in range(6, 9):
        (tmp_path / f"Tiger1/img/{extra:04d}.jpg").unlink()
    with pytest.raises(TrackingDataError, match="5 boxes, and the toolkit leaves out the first 5"):
        reader.sequence("Tiger1")
    with pytest.raises(FileNotFoundError, match="no folder of sequence 'Basketbal'"):
        reader.sequence("Basketbal")
    (tmp_path / "Board/groundtruth_rect.txt").write_text("0,0,0,0\n2,2,3,3\n2,2,3,3\n")
    with pytest.raises(TrackingDataError, match="line 1: the first box starts the tracker"):
        reader.sequence("Board")
