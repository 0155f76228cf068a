"""The generated tracking benchmark, the benchmark runners and the annotated GIFs, on a tiny generated set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from data_modules.tracking_crowd import CrowdSpec, in_view, render_crowd
from data_modules.tracking_readers import OTB, Davis2017, MOTChallenge
from data_modules.tracking_synthetic import TrackingSpec, generate_tracking
from videovision.models import ResNetFrames
from videovision.tracking.annotate import colour, draw_frame
from videovision.tracking.association import AssociationConfig
from videovision.tracking.benchmarks import evaluate_davis, evaluate_mot, evaluate_otb
from videovision.tracking.boxes import BoxTrackerConfig
from videovision.tracking.features import DenseFeatures
from videovision.tracking.propagation import PropagationConfig

CROWD = CrowdSpec(2, 8, 64, 2, det_jitter=0.5, det_miss=0.0, min_visible=0.0, det_false=0.0)
SPEC = TrackingSpec(num_sequences=2, num_frames=6, size=64, num_objects=2, crowd=CROWD)


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Path:
    return generate_tracking(tmp_path_factory.mktemp("tracking"), SPEC)


def test_generated_layouts_agree(bench: Path) -> None:
    davis = Davis2017(bench / "davis").sequence("seq01")
    otb = OTB(bench / "otb").sequence("seq01")
    assert MOTChallenge(bench / "mot").sequences() == ["crowd01", "crowd02"]
    assert davis.masks.shape == (6, 64, 64) and davis.num_objects == 2 and len(otb.boxes) == 6
    for t, (x, y, w, h) in enumerate(otb.boxes.astype(int)):  # object 1's visible pixels lie in its box
        ys, xs = np.nonzero(davis.masks[t] == 1)
        assert xs.min() >= x and xs.max() < x + w and ys.min() >= y and ys.max() < y + h
    mtime = (bench / "tracking_synthetic.json").stat().st_mtime
    generate_tracking(bench, SPEC)  # already there: nothing rewritten
    assert (bench / "tracking_synthetic.json").stat().st_mtime == mtime


def test_crowd_scenes_hide_objects_and_let_them_leave(bench: Path) -> None:
    """The generator draws what its ground truth and detections say, identically each time."""
    spec = CrowdSpec(num_sequences=1, num_frames=60, size=64, num_objects=4)
    frames, boxes, visible = render_crowd(np.random.default_rng(3), spec)
    again = render_crowd(np.random.default_rng(3), spec)
    assert all(np.array_equal(a, b) for a, b in zip((frames, boxes, visible), again))
    shown = in_view(boxes, 64)
    assert (~shown).any() and (visible[~shown] == 0).all()  # walked out of the image: nothing of it drawn
    left_and_back = [np.flatnonzero(np.diff(shown[:, k].astype(int)) == 1) for k in range(4)]
    assert any(len(entries) for entries in left_and_back)  # some object comes (back) into view
    assert ((visible < 0.4) & shown).any()  # hidden behind the pillar or another object while in view
    heights = boxes[0, :, 3]
    assert heights.max() <= 1.5 * heights.min()  # similar sizes
    mot = MOTChallenge(bench / "mot").sequence("crowd01")
    gt_rows = mot.gt[mot.gt[:, 1] == 1]
    assert len(mot.gt) <= 16 and 1 <= len(gt_rows) <= 8 and mot.gt[:, 8].max() <= 1
    assert len(mot.det) <= len(mot.gt)  # no false boxes, one detection per object in view at most


def test_runners_write_results_and_scores(bench: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    features = DenseFeatures(ResNetFrames(num_stages=2).eval(), stride=8)
    davis = evaluate_davis(bench / "davis", "val", features, PropagationConfig(), tmp_path / "davis")
    copy = evaluate_davis(bench / "davis", "val", None, PropagationConfig(), tmp_path / "copy", gif=False)
    assert 0 <= davis["J&F-Mean"] <= 1 and 0 <= copy["J&F-Mean"] <= 1
    with Image.open(tmp_path / "davis/seq02/00005.png") as png:
        assert png.mode == "P" and png.size == (64, 64)
    assert (tmp_path / "davis/seq01.gif").is_file() and not (tmp_path / "copy/seq01.gif").exists()
    otb = evaluate_otb(bench / "otb", features, BoxTrackerConfig(), tmp_path / "otb")
    assert 0 <= otb["success_auc"] <= 1 and len((tmp_path / "otb/seq01.txt").read_text().splitlines()) == 6
    mot = evaluate_mot(bench / "mot", "train", None, AssociationConfig(appearance=0), tmp_path / "mot")
    rows = np.loadtxt(tmp_path / "mot/crowd01.txt", delimiter=",")
    assert rows.shape[1] == 10 and mot["MOTA"] > 0.5  # jittered but complete detections


def test_draw_frame_boxes_and_masks() -> None:
    frame = np.zeros((10, 10, 3), np.uint8)
    mask = np.zeros((10, 10), np.uint8)
    mask[0, 0] = 2
    image = np.asarray(draw_frame(frame, mask, np.array([[1, 4, 4, 3, 3]]), scale=2, alpha=1.0))
    assert image.shape == (20, 20, 3)
    assert tuple(image[0, 0]) == colour(2) and tuple(image[8, 8]) == colour(1)


def test_void_pixels_count_for_neither_mask(tmp_path: Path) -> None:
    """Copying frame 0's mask misses where the object moved; those pixels are void (255), so J = F = 1."""
    from data_modules.tracking_readers import write_index_png

    (tmp_path / "ImageSets/2017").mkdir(parents=True)
    (tmp_path / "ImageSets/2017/val.txt").write_text("s\n")
    for folder in ("JPEGImages/480p/s", "Annotations/480p/s"):
        (tmp_path / folder).mkdir(parents=True)
    for t in range(3):
        Image.new("RGB", (16, 16)).save(tmp_path / f"JPEGImages/480p/s/{t:05d}.jpg")
        labels = np.zeros((16, 16), np.uint8)
        labels[4:10, 4:10] = 1
        if t:
            labels[4:10, 4:6], labels[4:10, 10:12] = 255, 255
        write_index_png(tmp_path / f"Annotations/480p/s/{t:05d}.png", labels)
    scores = evaluate_davis(tmp_path, "val", None, PropagationConfig(), tmp_path / "out", gif=False)
    assert scores["J-Mean"] == 1.0 and scores["F-Mean"] == 1.0
