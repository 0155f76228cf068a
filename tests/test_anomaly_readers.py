"""Anomaly readers against tiny trees in each benchmark's exact layout; bad ground truth names its file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from data_modules.anomaly_readers import (
    AnnotationError,
    Avenue,
    GenericAnomaly,
    ShanghaiTech,
    UCFCrime,
    UCSDPed,
    frame_labels,
    parse_ucsd_gt,
)
from data_modules.video_io import VideoDecodeError, probe_video


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def _frames(folder, names, mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        Image.new(mode, (8, 6), color=i * 10 if mode == "L" else (i * 10, 0, 0)).save(folder / name)
    return folder


def test_shanghaitech_frame_folders_decode_and_masks_fit(tmp_path):
    _touch(tmp_path / "training" / "videos" / "01_001.avi")
    _touch(tmp_path / "training" / "videos" / "01_002.avi")
    _frames(tmp_path / "testing" / "frames" / "01_0014", [f"{i:03d}.jpg" for i in range(5)])
    (tmp_path / "testing" / "test_frame_mask").mkdir()
    np.save(tmp_path / "testing" / "test_frame_mask" / "01_0014.npy", np.array([0, 0, 1, 1, 0]))
    reader = ShanghaiTech(str(tmp_path))
    assert [r.name for r in reader.anomaly_records("train")] == ["01_001", "01_002"]
    (test,) = reader.anomaly_records("test")
    meta = probe_video(test.path)
    assert (meta.num_frames, meta.backend) == (5, "frames")
    assert frame_labels(test, meta.num_frames).tolist() == [0, 0, 1, 1, 0]
    assert [r.path for r in reader.records("train")] == [r.path for r in reader.anomaly_records("train")]


def test_shanghaitech_a_mask_without_its_frames_raises_rather_than_leaving_the_metric(tmp_path):
    _frames(tmp_path / "testing" / "frames" / "01_0014", ["000.jpg"])
    (tmp_path / "testing" / "frames" / "01_0015").mkdir()  # a half-finished unpack: no frames yet
    for name in ("01_0014", "01_0015"):
        np.save(_touch(tmp_path / "testing" / "test_frame_mask" / f"{name}.npy"), np.array([0]))
    with pytest.raises(AnnotationError, match=r"test_frame_mask/01_0015\.npy: ground truth without a video"):
        ShanghaiTech(str(tmp_path)).anomaly_records("test")


def _missing_mask(tmp_path):
    _frames(tmp_path / "testing" / "frames" / "01_0014", ["000.jpg"])
    (tmp_path / "testing" / "test_frame_mask").mkdir(parents=True)
    return ShanghaiTech(str(tmp_path)).anomaly_records("test")


def test_shanghaitech_missing_mask_short_mask_and_gap_name_the_file(tmp_path):
    with pytest.raises(AnnotationError, match=r"test_frame_mask/01_0014\.npy"):
        _missing_mask(tmp_path)
    np.save(tmp_path / "testing" / "test_frame_mask" / "01_0014.npy", np.array([0]))
    _frames(tmp_path / "testing" / "frames" / "01_0014", ["000.jpg", "001.jpg"])
    (test,) = ShanghaiTech(str(tmp_path)).anomaly_records("test")
    with pytest.raises(AnnotationError, match=r"01_0014\.npy .*1 frames, shorter than the video"):
        frame_labels(test, probe_video(test.path).num_frames)
    with pytest.raises(AnnotationError, match="longer than the video"):
        frame_labels(test, 0)
    _frames(tmp_path / "testing" / "frames" / "01_0014", ["003.jpg"])
    with pytest.raises(VideoDecodeError, match=r"01_0014: frame 2 is missing \(a gap after 001\.jpg\)"):
        probe_video(test.path)


def test_avenue_vollabel_cells_any_pixel_marks_the_frame(tmp_path):
    for split in ("training_videos", "testing_videos"):
        _touch(tmp_path / split / "01.avi")
    empty, spot = np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.uint8)
    spot[3, 4] = 1
    cells = np.empty((1, 3), dtype=object)
    cells[0, :] = [empty, spot, empty]
    (tmp_path / "testing_label_mask").mkdir()
    savemat(tmp_path / "testing_label_mask" / "1_label.mat", {"volLabel": cells})
    reader = Avenue(str(tmp_path))
    assert [r.name for r in reader.anomaly_records("train")] == ["01"]
    (test,) = reader.anomaly_records("test")
    assert test.source.endswith("testing_label_mask/1_label.mat")
    assert frame_labels(test, 3).tolist() == [0, 1, 0]
    with pytest.raises(AnnotationError, match=r"1_label\.mat .*3 frames, shorter than the video"):
        frame_labels(test, 4)
    savemat(tmp_path / "testing_label_mask" / "10_label.mat", {"volLabel": cells})
    with pytest.raises(AnnotationError, match=r"10_label\.mat: ground truth without a video .*testing_videos"):
        reader.anomaly_records("test")
    (tmp_path / "testing_label_mask" / "10_label.mat").write_bytes(b"MATLAB 7.3 MAT-file, HDF5")
    _touch(tmp_path / "testing_videos" / "10.avi")
    with pytest.raises(AnnotationError, match=r"10_label\.mat: not a MATLAB v5 \.mat file"):
        reader.anomaly_records("test")
    _touch(tmp_path / "testing_videos" / "02.avi")
    with pytest.raises(AnnotationError, match=r"not found: .*testing_label_mask/2_label\.mat"):
        reader.anomaly_records("test")
    _touch(tmp_path / "testing_videos" / "01_copy.avi")
    with pytest.raises(AnnotationError, match=r"01_copy\.avi: Avenue test videos are numbered"):
        reader.anomaly_records("test")


UCSD_M = """TestVideoFile = {};
% comment line
% TestVideoFile{end+1}.gt_frame = [9:9];
TestVideoFile{end+1}.gt_frame = [3:4];  % the first test video
TestVideoFile{end+1}.gt_frame = [1:2, 5:5];
"""


def test_ucsd_spans_from_the_m_file_and_tif_frames(tmp_path):
    _frames(tmp_path / "Train" / "Train001", [f"{i:03d}.tif" for i in range(1, 4)], mode="L")
    for n in (1, 2):
        _frames(tmp_path / "Test" / f"Test{n:03d}", [f"{i:03d}.tif" for i in range(1, 6)], mode="L")
    _frames(tmp_path / "Test" / "Test001_gt", ["001.bmp"], mode="L")
    (tmp_path / "Test" / "UCSDped2.m").write_text(UCSD_M)
    assert parse_ucsd_gt(tmp_path / "Test" / "UCSDped2.m") == [((3, 4),), ((1, 2), (5, 5))]
    reader = UCSDPed(str(tmp_path), ped=2)
    assert [r.name for r in reader.anomaly_records("train")] == ["Train001"]
    tests = reader.anomaly_records("test")
    assert [r.name for r in tests] == ["Test001", "Test002"]
    labels = [frame_labels(r, probe_video(r.path).num_frames).tolist() for r in tests]
    assert labels == [[0, 0, 1, 1, 0], [1, 1, 0, 0, 1]]
    with pytest.raises(AnnotationError, match=r"UCSDped2\.m .*span 5-5 is not within frames 1-4"):
        frame_labels(tests[1], 4)
    _frames(tmp_path / "Test" / "Test003", ["001.tif"], mode="L")
    with pytest.raises(AnnotationError, match=r"UCSDped2\.m: 2 test videos listed but 3 TestNNN folders"):
        reader.anomaly_records("test")


def test_ucf_crime_annotation_spans_and_weak_train_labels(tmp_path):
    for rel in (
        "Anomaly-Videos-Part-1/Abuse/Abuse001_x264.mp4",
        "Anomaly-Videos-Part-1/Abuse/Abuse028_x264.mp4",
        "Training-Normal-Videos-Part-1/Normal_Videos001_x264.mp4",
        "Testing_Normal_Videos_Anomaly/Normal_Videos_003_x264.mp4",
    ):
        _touch(tmp_path / rel)
    (tmp_path / UCFCrime.ANNOTATION).write_text(
        "Abuse028_x264.mp4  Abuse  2  3  6  6\nNormal_Videos_003_x264.mp4  Normal  -1  -1  -1  -1\n"
    )
    reader = UCFCrime(str(tmp_path))
    train = reader.anomaly_records("train")
    assert [(r.name, r.anomalous) for r in train] == [("Abuse001_x264", True), ("Normal_Videos001_x264", False)]
    abuse, normal = reader.anomaly_records("test")
    assert (abuse.anomalous, normal.anomalous) == (True, False)
    assert frame_labels(abuse, 7).tolist() == [0, 1, 1, 0, 0, 1, 0]
    assert frame_labels(normal, 3).tolist() == [0, 0, 0]
    _touch(tmp_path / "Anomaly-Videos-Part-1" / "Abuse" / "._Abuse001_x264.mp4")  # unpacked on a Mac
    _touch(tmp_path / "Normal_Videos_event" / "Normal_Videos_003_x264.mp4")  # the distribution's copy of a test normal
    assert [r.name for r in reader.anomaly_records("train")] == ["Abuse001_x264", "Normal_Videos001_x264"]
    assert [r.name for r in reader.anomaly_records("test")] == ["Abuse028_x264", "Normal_Videos_003_x264"]
    (tmp_path / "Normal_Videos_event" / "Normal_Videos_003_x264.mp4").write_bytes(b"other")
    with pytest.raises(AnnotationError, match=r"Normal_Videos_003_x264\.mp4: another video of the same file name"):
        reader.anomaly_records("test")
    (tmp_path / "Normal_Videos_event" / "Normal_Videos_003_x264.mp4").unlink()
    (tmp_path / UCFCrime.ANNOTATION).write_text("Abuse028_x264.mp4  Abuse  2  x  -1  -1\n")
    with pytest.raises(AnnotationError, match=r"Testing_Videos\.txt:1: frame numbers must be integers"):
        reader.anomaly_records("test")
    (tmp_path / UCFCrime.ANNOTATION).write_text("Gone_x264.mp4 Abuse 1 2 -1 -1\n")
    with pytest.raises(AnnotationError, match=r"Temporal_Anomaly_Annotation_for_Testing_Videos\.txt: test video Gone"):
        reader.anomaly_records("test")


def test_generic_layout_masks_beside_videos_and_orphans_raise(tmp_path):
    _touch(tmp_path / "train" / "a.avi")
    _frames(tmp_path / "train" / "b", ["img_00001.jpg"])
    _touch(tmp_path / "test" / "c.avi")
    _frames(tmp_path / "test" / "d", ["img_00001.jpg", "img_00002.jpg"])
    np.save(tmp_path / "test" / "c.npy", np.array([1, 0, 0]))
    reader = GenericAnomaly(str(tmp_path))
    assert [r.name for r in reader.anomaly_records("train")] == ["a", "b"]
    with pytest.raises(AnnotationError, match=r"mask not found: .*test/d\.npy"):
        reader.anomaly_records("test")
    np.save(tmp_path / "test" / "d.npy", np.array([0, 2]))
    c, d = reader.anomaly_records("test")
    assert frame_labels(c, 3).tolist() == [1, 0, 0]
    with pytest.raises(AnnotationError, match=r"test/d\.npy .*values other than 0/1"):
        frame_labels(d, 2)
    np.save(tmp_path / "test" / "e.npy", np.array([0]))
    with pytest.raises(AnnotationError, match=r"test/e\.npy: ground truth without a video"):
        reader.anomaly_records("test")


def test_generic_layout_weakly_labelled_training_videos_are_anomalous_and_not_pretrained_on(tmp_path):
    _touch(tmp_path / "train" / "a.avi")
    _touch(tmp_path / "train_anomalous" / "w.avi")
    _frames(tmp_path / "train_anomalous" / "x", ["img_00001.jpg"])
    reader = GenericAnomaly(str(tmp_path))
    assert [(r.name, r.anomalous) for r in reader.anomaly_records("train")] == [
        ("a", False),
        ("w", True),
        ("x", True),
    ]
    assert [r.path for r in reader.records("train")] == [str(tmp_path / "train" / "a.avi")]


def test_hidden_files_beside_the_ground_truth_are_not_read_as_masks(tmp_path):
    """macOS leaves ``._`` copies of every file in archives; as masks they would be orphans and stop the run."""
    _frames(tmp_path / "st" / "testing" / "frames" / "01_0014", ["000.jpg"])
    np.save(_touch(tmp_path / "st" / "testing" / "test_frame_mask" / "01_0014.npy"), np.array([1]))
    _touch(tmp_path / "st" / "testing" / "test_frame_mask" / "._01_0014.npy")
    assert [r.name for r in ShanghaiTech(str(tmp_path / "st")).anomaly_records("test")] == ["01_0014"]
    _touch(tmp_path / "av" / "testing_videos" / "01.avi")
    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = np.zeros((2, 2), np.uint8)
    savemat(_touch(tmp_path / "av" / "testing_label_mask" / "1_label.mat"), {"volLabel": cells})
    _touch(tmp_path / "av" / "testing_label_mask" / "._1_label.mat")
    assert [r.name for r in Avenue(str(tmp_path / "av")).anomaly_records("test")] == ["01"]
    _touch(tmp_path / "gen" / "test" / "c.avi")
    np.save(tmp_path / "gen" / "test" / "c.npy", np.array([0]))
    _touch(tmp_path / "gen" / "test" / "._c.npy")
    np.save(_touch(tmp_path / "gen" / "test" / ".cache" / "old.npy"), np.array([0]))
    assert [r.name for r in GenericAnomaly(str(tmp_path / "gen")).anomaly_records("test")] == ["c"]


def test_generic_layout_reads_subfolders_and_refuses_two_videos_with_one_id(tmp_path):
    _touch(tmp_path / "train" / "a.avi")
    _touch(tmp_path / "train" / "cam2" / "b.avi")
    _frames(tmp_path / "train" / "cam2" / "f", ["img_00001.jpg"])
    _touch(tmp_path / "test" / "c.avi")
    np.save(tmp_path / "test" / "c.npy", np.array([0, 1]))
    _touch(tmp_path / "test" / "cam2" / "day1" / "d.mp4")
    np.save(tmp_path / "test" / "cam2" / "day1" / "d.npy", np.array([[1], [0], [0]]))  # (T, 1) is one per frame
    reader = GenericAnomaly(str(tmp_path))
    assert [r.name for r in reader.anomaly_records("train")] == ["a", "cam2/b", "cam2/f"]
    c, d = reader.anomaly_records("test")
    assert (c.name, d.name) == ("c", "cam2/day1/d")
    assert d.source.endswith("test/cam2/day1/d.npy") and frame_labels(d, 3).tolist() == [1, 0, 0]
    np.save(tmp_path / "test" / "cam2" / "e.npy", np.array([0]))
    with pytest.raises(AnnotationError, match=r"test/cam2/e\.npy: ground truth without a video"):
        reader.anomaly_records("test")
    (tmp_path / "test" / "cam2" / "e.npy").unlink()
    np.save(tmp_path / "test" / "cam2" / "day1" / "d.npy", np.zeros((3, 2)))
    with pytest.raises(AnnotationError, match=r"d\.npy: a mask of shape \(3, 2\)"):
        reader.anomaly_records("test")
    np.save(tmp_path / "test" / "cam2" / "day1" / "d.npy", np.zeros(3))
    (tmp_path / "test" / "loop").symlink_to(tmp_path / "test")  # not followed: it would read every video again
    _touch(tmp_path / "test" / "__MACOSX" / "y" / "._img_00001.jpg")  # not a frame folder: its images are hidden
    _frames(tmp_path / "test" / "f", ["img_00001.jpg"])
    np.save(tmp_path / "test" / "f.npy", np.array([0]))
    np.save(tmp_path / "test" / "f" / "flow.npy", np.zeros((1, 2, 8, 6)))  # a frame folder's own file, not a mask
    assert [r.name for r in reader.anomaly_records("test")] == ["c", "cam2/day1/d", "f"]
    _touch(tmp_path / "test" / "c.mp4")
    with pytest.raises(AnnotationError, match=r"test/c\.mp4: another video with the id 'c' lies at .*test/c\.avi"):
        reader.anomaly_records("test")
    (tmp_path / "test" / "c.mp4").unlink()
    _touch(tmp_path / "test" / "f" / "raw" / "f.avi")  # beside the frames extracted from it: not read, so refused
    with pytest.raises(AnnotationError, match=r"test/f/raw/f\.avi: a video inside the frame folder .*test/f "):
        reader.anomaly_records("test")
    _frames(tmp_path / "train" / "cam2" / "f" / "g", ["img_00001.jpg"])  # a frame folder in one: in training too
    with pytest.raises(AnnotationError, match=r"train/cam2/f/g: a video inside the frame folder .*train/cam2/f "):
        reader.anomaly_records("train")


def test_ucsd_m_file_variants_and_lines_it_cannot_read(tmp_path):
    path = tmp_path / "UCSDped1.m"
    path.write_text(
        "TestVideoFile{end + 1}.gt_frame = [1:3];\n%{\nTestVideoFile{end+1}.gt_frame = [7:8];\n%}\n"
        "TestVideoFile{end+1}.gt_frame = 4:5;\nTestVideoFile{end+1}.gt_frame = [];\n"
        "TestVideoFile{end+1}.gt_frame = [1 : 2,\t6:7];\n",
        encoding="utf-8-sig",
    )
    assert parse_ucsd_gt(path) == [((1, 3),), ((4, 5),), (), ((1, 2), (6, 7))]
    for line in (
        "TestVideoFile{end+1}.gt_frame = [1:2:9];",
        "TestVideoFile{3}.gt_frame = [1:9];",
        "TestVideoFile{end+1}.gt_frame = ;",
    ):
        path.write_text(f"TestVideoFile{{end+1}}.gt_frame = [1:3];\n{line}\n")
        with pytest.raises(AnnotationError, match=r"UCSDped1\.m:2: cannot read"):
            parse_ucsd_gt(path)


def test_ucf_crime_annotation_file_quirks(tmp_path):
    for rel in (
        "Abuse/Abuse028_x264.mp4",
        "Abnormal/Fight001_x264.mp4",
        "Training-Normal-Videos-Part-1/N1.mp4",
        "NormalVideos/N2.mp4",
    ):
        _touch(tmp_path / rel)
    annotation = tmp_path / UCFCrime.ANNOTATION
    annotation.write_text("\ufeffAbuse028_x264.mp4  Abuse  2  3  -1  -1\r\n\r\n", encoding="utf-8")
    reader = UCFCrime(str(tmp_path))
    assert [r.spans for r in reader.anomaly_records("test")] == [((2, 3),)]
    train = [(r.name, r.anomalous) for r in reader.anomaly_records("train")]
    assert train == [("Fight001_x264", True), ("N2", False), ("N1", False)]
    annotation.write_text("Abuse028_x264.mp4  Abuse  -1  3  -1  -1\n")
    with pytest.raises(AnnotationError, match=r"Testing_Videos\.txt:1: a span needs both its start and end frame"):
        reader.anomaly_records("test")
    annotation.write_text("Abuse028_x264.mp4  Abuse  2  3  -1  -1\nAbuse028_x264.mp4  Abuse  5  6  -1  -1\n")
    with pytest.raises(AnnotationError, match=r"Testing_Videos\.txt:2: Abuse028_x264\.mp4 is listed again .*line 1"):
        reader.anomaly_records("test")
