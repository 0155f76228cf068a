"""Held-out real-media sets, on a tiny fake opencv-doc tree the tests write (never the network)."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from data_modules import UCF101, heldout_sets
from data_modules.heldout_sets import (
    FOOTAGE_CLASSES,
    FootageSpec,
    OpenCVPhotos,
    PhotoSpec,
    generate_footage,
    generate_photos,
)
from data_modules.moving_digits import write_video
from data_modules.package_media import MediaSourceError, find_examples, read_footage
from data_modules.virtual_camera import MOTIONS, camera_path, film

FOOTAGE = FootageSpec(videos=("data/a.avi", "data/b.avi"), num_frames=4, width=40, height=30)
PHOTOS = PhotoSpec(photos=("data/p1.png", "x/p2.jpg", "data/p3.png"), test_photos=1, num_frames=5, width=32,
                   height=24, clips_per_group=1)  # fmt: skip
LEVEL = 8  # fake footage: frame i is a flat grey of LEVEL * i


@pytest.fixture(scope="module")
def fake_doc(tmp_path_factory):
    """``usr/share/doc/opencv-doc/examples`` with two 30-frame videos and three photographs."""
    root = tmp_path_factory.mktemp("opencv-doc")
    examples = root / "usr/share/doc/opencv-doc/examples"
    for name in FOOTAGE.videos:
        frames = np.repeat(LEVEL * np.arange(30, dtype=np.uint8), 48 * 64 * 3).reshape(30, 48, 64, 3)
        write_video(examples / name, frames, fps=10)
    rng = np.random.default_rng(0)
    for name in PHOTOS.photos:
        (examples / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(examples / name)
    return root


def test_footage_layout_sizes_and_disjoint_frames(fake_doc, tmp_path, monkeypatch):
    # Exact frames in and out (MPEG-4 blurs a flat grey by a few levels): frame i of a source is LEVEL * i.
    written: dict[str, np.ndarray] = {}

    def exact_footage(path, short_side):
        assert short_side == round(1.25 * FOOTAGE.height)
        return np.repeat(LEVEL * np.arange(30, dtype=np.uint8), 48 * 64 * 3).reshape(30, 48, 64, 3), Fraction(10)

    def keep(path, frames, fps):
        written[str(path)] = frames.reshape(len(frames), -1).mean(1) / LEVEL
        write_video(path, frames, fps)

    monkeypatch.setattr(heldout_sets, "read_footage", exact_footage)
    monkeypatch.setattr(heldout_sets, "write_video", keep)
    root = generate_footage(tmp_path / "footage", FOOTAGE, source=fake_doc)
    reader = UCF101(str(root))
    assert reader.classes == list(FOOTAGE_CLASSES)
    train, test = reader.records("train"), reader.records("test")
    # 30 frames per video: 21 train frames -> windows of 8 every 2 from 0..12 (7); 9 test frames -> 1
    clips = len(FOOTAGE_CLASSES) * FOOTAGE.clips_per_group
    assert len(train) == 2 * 7 * clips and len(test) == 2 * 1 * clips
    assert not {r.group for r in train} & {r.group for r in test}
    with av.open(train[0].path) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height, stream.average_rate, stream.frames) == (40, 30, 10, FOOTAGE.num_frames)
    for record in train + test:
        index = written[record.path]
        assert (index < 21).all() if record in train else (index >= 21).all(), record.path
        expected = {"PlayForward": 1, "PlayBackward": -1, "PlayFast": 2}.get(reader.classes[record.label], 1)
        assert np.allclose(np.diff(index), expected), (record.path, index)


def test_footage_is_read_at_its_rate_with_its_short_side_resized(fake_doc):
    frames, fps = read_footage(fake_doc / "usr/share/doc/opencv-doc/examples/data/a.avi", short_side=24)
    assert frames.shape == (30, 24, 32, 3) and fps == 10


def test_photo_sets_are_deterministic_cached_and_disjoint(fake_doc, tmp_path):
    a = generate_photos(tmp_path / "a", PHOTOS, source=fake_doc / "usr/share/doc/opencv-doc")
    b = generate_photos(tmp_path / "b", PHOTOS, source=fake_doc)
    name = f"{MOTIONS[6]}/v_{MOTIONS[6]}_g02_c01.avi"
    assert (a / "UCF-101" / name).read_bytes() == (b / "UCF-101" / name).read_bytes()
    stamp = (a / "UCF-101" / name).stat().st_mtime_ns
    generate_photos(a, PHOTOS, source=fake_doc)
    assert (a / "UCF-101" / name).stat().st_mtime_ns == stamp, "a cached set must not be rewritten"
    reader = UCF101(str(a))
    train_photos = {r.group.split("_g")[1] for r in reader.records("train")}
    test_photos = {r.group.split("_g")[1] for r in reader.records("test")}
    assert len(test_photos) == 1 and len(train_photos) == 2 and not train_photos & test_photos
    assert len(reader.records("test")) == len(MOTIONS)


def test_missing_sources_and_foreign_folders_are_named(fake_doc, tmp_path):
    with pytest.raises(MediaSourceError, match="holds no usr/share/doc/opencv-doc/examples/data"):
        find_examples(tmp_path)
    with pytest.raises(MediaSourceError, match="no such .deb file or folder"):
        find_examples(tmp_path / "nowhere.deb")
    with pytest.raises(MediaSourceError, match=r"data/missing\.png is missing"):
        generate_photos(tmp_path / "p", PhotoSpec(photos=("data/p1.png", "data/missing.png"), test_photos=1), fake_doc)
    own = tmp_path / "mine"
    own.mkdir()
    (own / "holiday.mp4").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="holds no heldout_photos.json.*VideoFolder"):
        OpenCVPhotos(str(own), source=str(fake_doc)).prepare()


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_a_deb_is_unpacked_without_installing(fake_doc, tmp_path):
    package = tmp_path / "pkg"
    shutil.copytree(fake_doc, package)
    (package / "DEBIAN").mkdir()
    (package / "DEBIAN/control").write_text(
        "Package: opencv-doc\nVersion: 0.1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: fake\n"
    )
    subprocess.run(
        ["dpkg-deb", "-b", str(package), str(tmp_path / "opencv-doc_0.1_all.deb")], check=True, capture_output=True
    )
    examples = find_examples(tmp_path / "opencv-doc_0.1_all.deb", cache=tmp_path / "cache")
    assert examples == tmp_path / "cache/opencv-doc_0.1_all/usr/share/doc/opencv-doc/examples"
    assert (examples / "data/a.avi").is_file()


def test_the_camera_moves_as_its_class_says_and_stays_inside():
    rng = np.random.default_rng(1)
    for motion in MOTIONS:
        path = camera_path(motion, rng, 9, (300, 400), 4 / 3, (0.55, 0.8))
        cx, cy, width, angle = path.T
        half_h = width / (4 / 3) / 2
        corners_x = np.abs(np.cos(angle)) * width / 2 + np.abs(np.sin(angle)) * half_h
        assert (cx - corners_x >= -1e-6).all() and (cx + corners_x <= 400 + 1e-6).all(), motion
        change = {
            "PanLeft": -np.diff(cx),
            "PanRight": np.diff(cx),
            "TiltUp": -np.diff(cy),
            "TiltDown": np.diff(cy),
            "ZoomIn": -np.diff(width),
            "ZoomOut": np.diff(width),
            "RollClockwise": np.diff(angle),
            "RollCounterclockwise": -np.diff(angle),
        }[motion]
        assert (change > 0).all(), motion
    with pytest.raises(ValueError, match="unknown camera motion 'Spin'"):
        camera_path("Spin", rng, 3, (30, 40), 4 / 3, (0.5, 0.6))


def test_film_through_the_whole_image_returns_it_and_a_half_window_zooms():
    image = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)
    whole = film(image, np.array([[4.0, 4.0, 8.0, 0.0]]), (8, 8))
    assert np.array_equal(whole[0], image)
    quarter = film(image, np.array([[2.0, 2.0, 4.0, 0.0]]), (4, 4))  # the top-left 4x4 at its own scale
    assert np.array_equal(quarter[0], image[:4, :4])
