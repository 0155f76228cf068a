"""Tracking metrics against hand counts: DAVIS J/F/J&F, OTB success/precision, MOT through TrackEval."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from videovision.tracking import (
    boundary_f_measure,
    box_iou,
    davis_scores,
    mot_metrics,
    precision_at,
    precision_curve,
    region_similarity,
    success_auc,
    success_curve,
)
from videovision.tracking.metrics import (
    boundary_map,
    boundary_tolerance,
    mot_distractor_classes,
    mot_metrics_combined,
)


def _mask(shape: tuple[int, int], rows: slice, cols: slice) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[rows, cols] = True
    return mask


def _picture(text: str) -> np.ndarray:
    """A bool mask drawn as lines of 0/1."""
    return np.array([[c == "1" for c in line] for line in text.split()])


def test_region_similarity_by_hand():
    gt = _mask((4, 4), slice(0, 2), slice(0, 2))  # columns 0-1 of rows 0-1: 4 px
    pred = _mask((4, 4), slice(0, 2), slice(1, 3))  # columns 1-2 of rows 0-1: 4 px
    # overlap: column 1 of rows 0-1 = 2 px; union 4 + 4 - 2 = 6 px
    assert region_similarity(pred, gt) == pytest.approx(2 / 6)
    assert region_similarity(gt, gt) == 1.0
    empty = np.zeros((4, 4), dtype=bool)
    assert region_similarity(empty, empty) == 1.0  # both empty: 1, as db_eval_iou
    assert region_similarity(empty, gt) == 0.0


def test_boundary_map_is_the_ring_half_a_pixel_up_left():
    block = _mask((4, 4), slice(1, 3), slice(1, 3))
    # A pixel is on the boundary when it differs from its right, lower or lower-right neighbour:
    # the ring around rows/cols 0..2, not the block's own outer pixels.
    expected = _picture("""
        1110
        1010
        1110
        0000
    """)
    assert np.array_equal(boundary_map(block), expected)
    assert not boundary_map(np.ones((4, 4), dtype=bool)).any()  # the image border is not a boundary
    # A block in the bottom-right corner: only its top and left sides (shifted up-left) remain.
    corner = _mask((4, 4), slice(2, 4), slice(2, 4))
    assert np.argwhere(boundary_map(corner)).tolist() == [[1, 1], [1, 2], [1, 3], [2, 1], [3, 1]]


def test_boundary_tolerance_is_a_fraction_of_the_diagonal_rounded_up():
    assert boundary_tolerance(0.008, (480, 854)) == 8  # 0.008 * 979.6 = 7.84
    assert boundary_tolerance(0.008, (100, 100)) == 2  # 0.008 * 141.4 = 1.13
    assert boundary_tolerance(0.008, (4, 6)) == 1
    assert boundary_tolerance(3, (4, 6)) == 3  # >= 1: pixels
    with pytest.raises(ValueError, match="whole number"):
        boundary_tolerance(2.5, (4, 6))


def test_boundary_f_measure_by_hand():
    gt = _mask((4, 6), slice(1, 3), slice(1, 3))
    # gt boundary: the ring of rows 0..2 x cols 0..2 (8 px). Tolerance ceil(0.008 * 7.2) = 1 px, a plus-shaped disk.
    # Prediction two columns to the right: its ring is rows 0..2 x cols 2..4 (8 px).
    pred = _mask((4, 6), slice(1, 3), slice(3, 5))
    # precision: (0,2) (1,2) (2,2) lie on the gt ring, (0,3) (2,3) touch it; (0,4) (1,4) (2,4) are 2 px away: 5/8.
    # recall: (0,2) (1,2) (2,2) lie on the predicted ring, (0,1) (2,1) touch it; (0,0) (1,0) (2,0) do not: 5/8.
    assert boundary_f_measure(pred, gt) == pytest.approx(5 / 8)  # F = 2PR/(P+R) with P = R
    assert region_similarity(pred, gt) == 0.0
    # One column to the right every boundary pixel is within 1 px of the other's, while J is only 2/6.
    shifted_by_one = _mask((4, 6), slice(1, 3), slice(2, 4))
    assert boundary_f_measure(shifted_by_one, gt) == 1.0
    assert region_similarity(shifted_by_one, gt) == pytest.approx(1 / 3)


def test_boundary_f_measure_tolerance_scales_with_the_image():
    gt = _mask((100, 100), slice(20, 60), slice(20, 60))
    pred = _mask((100, 100), slice(22, 62), slice(20, 60))  # two rows lower
    # Default tolerance on 100 x 100 is 2 px: every boundary pixel has a match.
    assert boundary_f_measure(pred, gt) == 1.0
    # At 1 px: of the 160 predicted ring pixels (rows 21..61 x cols 19..59) the side columns (2 x 39) match, and in
    # the top row the two corners on the gt sides and their inner neighbours (4); the rest of the top row and the
    # bottom row are 2 px from the gt ring: P = 82/160. R likewise (gt bottom row and sides): F = 82/160.
    assert boundary_f_measure(pred, gt, bound_th=1) == pytest.approx(82 / 160)


def test_boundary_f_measure_empty_conventions():
    empty, full = np.zeros((8, 8), dtype=bool), np.ones((8, 8), dtype=bool)
    block = _mask((8, 8), slice(2, 5), slice(2, 5))
    assert boundary_f_measure(empty, empty) == 1.0
    assert boundary_f_measure(empty, block) == 0.0  # P = 1, R = 0
    assert boundary_f_measure(block, empty) == 0.0  # P = 0, R = 1
    assert boundary_f_measure(full, full) == 1.0  # a full-frame mask has no boundary either
    with pytest.raises(ValueError, match=r"\(8, 8\) and \(8, 7\)"):
        boundary_f_measure(block, block[:, :7])


def _davis_sequence() -> tuple[np.ndarray, np.ndarray]:
    """4 frames of 4 x 6; object 1 a 2 x 2 block, object 2 the two left pixels of the bottom row."""
    gt = np.zeros((4, 4, 6), dtype=np.int64)
    gt[:, 1:3, 1:3] = 1
    gt[:, 3, 0:2] = 2
    pred = np.zeros_like(gt)
    pred[1, 1:3, 1:3] = 1  # frame 1: object 1 exact (J = 1, F = 1)
    pred[2, 1:3, 3:5] = 1  # frame 2: object 1 two columns right (J = 0, F = 5/8, see the F test)
    return pred, gt  # object 2 is never predicted: J = F = 0 on every scored frame


def test_davis_scores_by_hand():
    pred, gt = _davis_sequence()
    scores = davis_scores(pred, gt)
    # object 1: J = (1 + 0) / 2, F = (1 + 5/8) / 2; object 2: 0, 0
    assert scores["J-per-object"] == pytest.approx([0.5, 0.0])
    assert scores["F-per-object"] == pytest.approx([13 / 16, 0.0])
    assert scores["J-Mean"] == pytest.approx(0.25)
    assert scores["F-Mean"] == pytest.approx(13 / 32)
    assert scores["J&F-Mean"] == pytest.approx((0.25 + 13 / 32) / 2)
    assert davis_scores(list(pred), list(gt)) == scores  # a list of frames works too


def test_davis_scores_skip_the_first_and_last_frames():
    pred, gt = _davis_sequence()
    reference = davis_scores(pred, gt)
    pred[0], pred[3] = 0, 2  # frame 0 is given, the last frame is left out by the official [1:-1] slice
    assert davis_scores(pred, gt) == reference
    pred[1] = gt[1]  # a scored frame does move the score
    assert davis_scores(pred, gt)["J&F-Mean"] > reference["J&F-Mean"]


def test_davis_scores_num_objects():
    pred, gt = _davis_sequence()
    assert davis_scores(pred, gt, num_objects=1)["J-per-object"] == pytest.approx([0.5])
    gt[0, 3, 0:2] = 0  # objects are counted on the first frame: object 2 is then not scored
    assert len(davis_scores(pred, gt)["J-per-object"]) == 1


def test_davis_scores_validation_messages():
    pred, gt = _davis_sequence()
    frames = list(pred)
    frames[2] = frames[2][:, :5]
    with pytest.raises(ValueError, match=r"frame 2: prediction mask \(4, 5\) and ground truth \(4, 6\)"):
        davis_scores(frames, gt)
    with pytest.raises(ValueError, match="prediction has 3 frames, ground truth 4"):
        davis_scores(pred[:3], gt)
    with pytest.raises(ValueError, match="at least 3 frames"):
        davis_scores(pred[:2], gt[:2])
    pred[1, 0, 0] = 3
    with pytest.raises(ValueError, match="frame 1: predicted label 3 but only 2 objects"):
        davis_scores(pred, gt)


def test_box_iou_by_hand():
    a = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0]])
    b = np.array([[5, 5, 10, 10], [20, 0, 5, 5], [0, 0, 0, 0]])
    # 5 x 5 = 25 shared of 100 + 100 - 25 = 175; disjoint; both empty -> 0
    assert box_iou(a, b) == pytest.approx([25 / 175, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(2, 4\)"):
        box_iou(a, b[:2])


# Three frames; the ground truth stays at 0, 0, 10, 10 (centre 4.5, 4.5).
OTB_GT = np.array([[0, 0, 10, 10]] * 3, dtype=float)
OTB_PRED = np.array(
    [
        [50, 50, 5, 5],  # frame 0: replaced by the ground truth (the initialisation): IoU 1, error 0
        [5, 0, 10, 10],  # 50 shared of 150: IoU 1/3; centre 9.5, 4.5: error 5
        [0, 0, 10, 24],  # 100 shared of 240: IoU 0.417; centre 4.5, 11.5: error 7
    ],
    dtype=float,
)


def test_success_curve_and_auc_by_hand():
    curve = success_curve(OTB_PRED, OTB_GT)
    # IoU > t for t = 0, 0.05, ..., 1: all 3 up to 0.30, 2 at 0.35 and 0.40, 1 from 0.45 to 0.95, none at 1.
    expected = [1.0] * 7 + [2 / 3] * 2 + [1 / 3] * 11 + [0.0]
    assert curve == pytest.approx(expected)
    assert success_auc(OTB_PRED, OTB_GT) == pytest.approx((7 + 4 / 3 + 11 / 3) / 21)


def test_precision_curve_by_hand():
    curve = precision_curve(OTB_PRED, OTB_GT)
    assert curve.shape == (51,)
    # errors 0, 5, 7: one frame within 0-4 px, two within 5-6 px, all three from 7 px
    assert curve == pytest.approx([1 / 3] * 5 + [2 / 3] * 2 + [1.0] * 44)
    assert precision_at(OTB_PRED, OTB_GT, 20) == 1.0
    assert precision_at(OTB_PRED, OTB_GT, 6) == pytest.approx(2 / 3)


def test_otb_invalid_boxes():
    # A frame whose ground truth is empty or NaN leaves both numerator and denominator (as pytracking for OTB).
    for bad_gt in ([0, 0, 0, 10], [np.nan] * 4):
        pred, gt = np.vstack([OTB_PRED, [0, 0, 10, 10]]), np.vstack([OTB_GT, bad_gt])
        assert success_curve(pred, gt) == pytest.approx(success_curve(OTB_PRED, OTB_GT))
        assert precision_curve(pred, gt) == pytest.approx(precision_curve(OTB_PRED, OTB_GT))
    # A prediction with a NaN or no area takes the previous frame's box (OTB toolkit): frame 2 repeats frame 1.
    for bad_pred in ([0, 0, 0, 24], [np.nan] * 4):
        pred = OTB_PRED.copy()
        pred[2] = bad_pred
        assert success_curve(pred, OTB_GT) == pytest.approx(success_curve(OTB_PRED[[0, 1, 1]], OTB_GT))
    with pytest.raises(ValueError, match="no frame has a valid ground-truth box"):
        success_curve(OTB_PRED, np.zeros((3, 4)))


def test_mot_metrics_names_the_package_when_trackeval_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "trackeval", None)
    monkeypatch.setitem(sys.modules, "trackeval.datasets", None)
    with pytest.raises(ImportError, match=r"pip install trackeval==1\.3\.0"):
        mot_metrics(np.zeros((0, 6)), np.zeros((0, 6)))


def test_mot_metrics_id_switch_by_hand():
    pytest.importorskip("trackeval")
    # One person over 4 frames, boxed exactly, but the tracker calls it 1 in frames 1-2 and 2 in frames 3-4.
    gt = np.array([[f, 7, 10, 10, 20, 40, 1] for f in range(1, 5)], dtype=float)
    gt = np.vstack([gt, [2, 8, 90, 90, 20, 40, 0]])  # conf 0: ignored by MOTChallenge, so no miss
    pred = np.array([[f, 1 if f <= 2 else 2, 10, 10, 20, 40] for f in range(1, 5)], dtype=float)
    result = mot_metrics(gt, pred)
    # MOTA = 1 - (FN + FP + IDSW) / GT = 1 - 1/4. IDF1: gt 7 <-> pred 1 share 2 of 4 + 4 detections: 2*2/8.
    # HOTA: every detection matches (DetA 1); each match's association is 2 / (2 + 2 + 0): AssA 1/2.
    assert result == pytest.approx(
        {
            "MOTA": 0.75,
            "IDF1": 0.5,
            "HOTA": 0.5**0.5,
            "DetA": 1.0,
            "AssA": 0.5,
            "MOTP": 1.0,
            "IDSW": 1,
            "FP": 0,
            "FN": 0,
        }
    )
    with pytest.raises(ValueError, match=r"pred: frame 3 has id\(s\) \[2.0\] more than once"):
        mot_metrics(gt, np.vstack([pred, [3, 2, 50, 50, 10, 10]]))
    with pytest.raises(ValueError, match=r"gt: expected \(N, >=6\) rows"):
        mot_metrics(gt[:, :4], pred)


def _motmetrics_data() -> Path:
    """motmetrics' bundled TUD fixtures (MOT15 ground truth and the CEM tracker's output), located without importing
    motmetrics (which needs pandas and fails on numpy 2 without a shim)."""
    spec = importlib.util.find_spec("motmetrics")
    if spec is None or spec.origin is None:
        pytest.skip("motmetrics==1.4.0 is not installed: its package carries the TUD fixture files")
    return Path(spec.origin).parent / "data"


@pytest.mark.parametrize(
    ("sequence", "idf1", "mota", "hota"),
    [("TUD-Campus", 0.5577, 0.5265, 0.3914), ("TUD-Stadtmitte", 0.6446, 0.5640, 0.3978)],
)
def test_mot_metrics_reproduce_the_published_tud_values(sequence, idf1, mota, hota):
    pytest.importorskip("trackeval")
    folder = _motmetrics_data() / sequence
    result = mot_metrics(np.loadtxt(folder / "gt.txt", delimiter=","), np.loadtxt(folder / "test.txt", delimiter=","))
    assert (round(result["IDF1"], 4), round(result["MOTA"], 4), round(result["HOTA"], 4)) == (idf1, mota, hota)


def test_mot_metrics_combine_sequences_as_trackeval_does(tmp_path):
    """Both TUD sequences scored together equal TrackEval's own COMBINED_SEQ, from its Evaluator reading the
    MOTChallenge files (not a mean of the two sequences' scores)."""
    trackeval = pytest.importorskip("trackeval")
    data, pairs, lengths = _motmetrics_data(), [], {}
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        gt, pred = (np.loadtxt(data / name / f, delimiter=",") for f in ("gt.txt", "test.txt"))
        pairs.append((gt, pred))
        lengths[name] = int(max(gt[:, 0].max(), pred[:, 0].max()))
        (tmp_path / f"gt/MOT15-train/{name}/gt").mkdir(parents=True)
        np.savetxt(tmp_path / f"gt/MOT15-train/{name}/gt/gt.txt", gt, fmt="%g", delimiter=",")
        (tmp_path / "trackers/MOT15-train/cem/data").mkdir(parents=True, exist_ok=True)
        np.savetxt(tmp_path / f"trackers/MOT15-train/cem/data/{name}.txt", pred, fmt="%g", delimiter=",")
    quiet = {"PRINT_CONFIG": False}
    dataset = trackeval.datasets.MotChallenge2DBox(
        {
            **quiet,
            "GT_FOLDER": str(tmp_path / "gt"),
            "TRACKERS_FOLDER": str(tmp_path / "trackers"),
            "BENCHMARK": "MOT15",
            "SPLIT_TO_EVAL": "train",
            "TRACKERS_TO_EVAL": ["cem"],
            "SEQ_INFO": lengths,
        }
    )
    metrics = [
        trackeval.metrics.HOTA(),
        *(m({**quiet, "THRESHOLD": 0.5}) for m in (trackeval.metrics.CLEAR, trackeval.metrics.Identity)),
    ]
    evaluator = trackeval.Evaluator(
        {
            **quiet,
            "USE_PARALLEL": False,
            "PRINT_RESULTS": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "TIME_PROGRESS": False,
        }
    )
    results, _ = evaluator.evaluate([dataset], metrics)
    combined = results["MotChallenge2DBox"]["cem"]["COMBINED_SEQ"]["pedestrian"]
    ours = mot_metrics_combined(pairs)
    assert ours["MOTA"] == pytest.approx(combined["CLEAR"]["MOTA"], abs=1e-12)
    assert ours["IDF1"] == pytest.approx(combined["Identity"]["IDF1"], abs=1e-12)
    assert ours["HOTA"] == pytest.approx(np.mean(combined["HOTA"]["HOTA"]), abs=1e-12)
    assert round(ours["HOTA"], 4) == 0.4000 and round(ours["MOTA"], 4) == 0.5551  # not the mean of 0.3914 and 0.3978
    means = [mot_metrics(gt, pred) for gt, pred in pairs]
    assert ours["IDF1"] != pytest.approx(np.mean([m["IDF1"] for m in means]), abs=1e-3)


def _mot17_sequence() -> tuple[np.ndarray, np.ndarray]:
    """Ground truth with distractors (static person 7, reflection 12, a car 3, all conf 0) and pedestrians, one of
    them partly outside the frame; a tracker that follows all of them, with an id switch and one stray box."""
    gt, pred = [], []
    for f in range(1, 7):
        gt += [[f, 1, 10 + 2 * f, 20, 30, 60, 1, 1, 1.0], [f, 2, 100, 20, 30, 60, 0, 7, 1.0]]
        gt += [[f, 3, -9, 30, 20, 50, 1, 1, 0.5], [f, 4, 150, 60, 20, 20, 0, 3, 1.0]]
        pred += [[f, 1 if f < 4 else 5, 11 + 2 * f, 21, 30, 60, 1], [f, 2, 101, 20, 30, 60, 1]]
        pred += [[f, 3, -8, 30, 20, 50, 1], [f, 4, 150, 60, 20, 20, 1]]
    gt += [[3, 6, 60, 10, 15, 30, 0, 12, 1.0], [1, 8, 60, 60, 20, 40, 0.5, 1, 1.0]]  # conf 0.5 reads as 0
    pred += [[3, 6, 60, 10, 15, 30, 1], [5, 7, 170, 5, 10, 10, 1]]
    pad = [-1, -1, -1]
    return np.array(gt, dtype=float), np.array([row + pad for row in pred], dtype=float)


def _trackeval_official(gt: np.ndarray, pred: np.ndarray, root: Path) -> dict:
    """TrackEval's own MOTChallenge pipeline (files on disk, ``MotChallenge2DBox`` with BENCHMARK MOT17)."""
    import trackeval

    sequence = root / "gt" / "MOT17-train" / "MOT17-02-FRCNN"
    (sequence / "gt").mkdir(parents=True)
    np.savetxt(sequence / "gt" / "gt.txt", gt, fmt="%g", delimiter=",")
    (sequence / "seqinfo.ini").write_text(
        "[Sequence]\nname=MOT17-02-FRCNN\nimDir=img1\nframeRate=30\nseqLength=6\nimWidth=192\nimHeight=108\n"
    )
    (root / "gt" / "seqmaps").mkdir()
    (root / "gt" / "seqmaps" / "MOT17-train.txt").write_text("name\nMOT17-02-FRCNN\n")
    tracker = root / "trackers" / "MOT17-train" / "ours" / "data"
    tracker.mkdir(parents=True)
    np.savetxt(tracker / "MOT17-02-FRCNN.txt", pred, fmt="%g", delimiter=",")
    quiet = {"PRINT_CONFIG": False}
    evaluator = trackeval.Evaluator(
        {
            **quiet,
            "PRINT_RESULTS": False,
            "OUTPUT_SUMMARY": False,
            "OUTPUT_DETAILED": False,
            "PLOT_CURVES": False,
            "TIME_PROGRESS": False,
            "USE_PARALLEL": False,
        }  # fmt: skip
    )
    dataset = trackeval.datasets.MotChallenge2DBox(
        {**quiet, "GT_FOLDER": str(root / "gt"), "TRACKERS_FOLDER": str(root / "trackers"), "BENCHMARK": "MOT17"}
    )
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(quiet), trackeval.metrics.Identity(quiet)]
    result = evaluator.evaluate([dataset], metrics)[0]["MotChallenge2DBox"]["ours"]["COMBINED_SEQ"]["pedestrian"]
    return {
        "MOTA": result["CLEAR"]["MOTA"],
        "IDF1": result["Identity"]["IDF1"],
        "HOTA": float(np.mean(result["HOTA"]["HOTA"])),
        "IDSW": result["CLEAR"]["IDSW"],
        "FP": result["CLEAR"]["CLR_FP"],
        "FN": result["CLEAR"]["CLR_FN"],
    }


def test_mot17_distractors_are_scored_as_trackevals_own_mot17_pipeline_scores_them(tmp_path):
    pytest.importorskip("trackeval")
    gt, pred = _mot17_sequence()
    distractors = mot_distractor_classes("MOT17-02-FRCNN")
    ours = mot_metrics(gt, pred, distractors)
    official = _trackeval_official(gt, pred, tmp_path)
    assert {k: ours[k] for k in official} == pytest.approx(official)
    # By hand: the boxes on the static person and the reflection are dropped; the car's (class 3, not a distractor)
    # and the stray box are false positives (6 + 1); 12 pedestrian boxes, all found; one id switch.
    assert (ours["FP"], ours["FN"], ours["IDSW"]) == (7, 0, 1)
    assert ours["MOTA"] == pytest.approx(1 - (7 + 0 + 1) / 12)
    assert mot_metrics(gt, pred)["FP"] == 6 + 1 + 6 + 1  # MOT15 rules: every predicted box counts
    assert mot_distractor_classes("MOT20-01") == (2, 6, 7, 8, 12) and mot_distractor_classes("TUD-Campus") is None
    assert mot_metrics(np.empty((0, 9)), pred, distractors)["FP"] == len(pred)  # a test split: no ground truth
    with pytest.raises(ValueError, match=r"class\(es\) \[-1.0\] are not MOTChallenge classes"):
        mot_metrics(np.c_[gt[:, :7], -np.ones(len(gt)), gt[:, 8]], pred, distractors)
