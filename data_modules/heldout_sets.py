"""Held-out real-media sets, generated on first use from the media ``opencv-doc`` ships (package_media.py).

Never used to choose settings (except the one set a study names as its tuning set), they check that a
recipe tuned on moving digits transfers to real pixels. Both are written as MPEG-4 ``.avi`` files in the
UCF101 layout (``<root>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi`` + ``ucfTrainTestlist/``), so the UCF101
reader serves them; every group renders one source with every class, so no single frame tells the class.

- **footage** (:class:`OpenCVFootage`): OpenCV's sample videos (pedestrians at 10 fps, an animation at
  24 fps), cut into windows of 2 x ``num_frames`` frames (every ``num_frames // 2``) at their own frame
  rate and filmed by a virtual camera at ``width`` x ``height``. Classes: the camera pans or tilts over
  the playing footage, or holds still while it plays forward, backward or twice as fast. The last
  ``test_fraction`` of every video gives the test windows: train and test never share a frame.
- **photos** (:class:`OpenCVPhotos`): real photographs filmed by a virtual camera (pan, tilt, zoom,
  roll; virtual_camera.py) at ``fps``; ``test_photos`` photographs (drawn by the seed) are test only.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .moving_digits import is_generated, write_ucf101_lists, write_video
from .package_media import find_examples, media_path, read_footage, read_photo
from .readers import UCF101
from .virtual_camera import MOTIONS, camera_path, film

FOOTAGE_CLASSES = ("PanLeft", "PanRight", "TiltUp", "TiltDown", "PlayForward", "PlayBackward", "PlayFast")
# tree.avi decodes to 68 of its 444 frames and Megamind_bugy.avi is Megamind.avi again: both left out.
FOOTAGE = ("data/vtest.avi", "data/Megamind.avi")
PHOTOS = tuple(
    f"data/{name}"
    for name in (
        "HappyFish.jpg aero1.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png board.jpg box_in_scene.png "
        "building.jpg butterfly.jpg ela_original.jpg fruits.jpg graf1.png home.jpg left.jpg leuvenA.jpg "
        "licenseplate_motion.jpg messi5.jpg orange.jpg rubberwhale1.png smarties.png squirrel_cls.jpg stuff.jpg "
        "sudoku.png text_defocus.jpg"
    ).split()
) + ("alphamat/input_images/plant.jpg", "hfs/data/000.jpg", "text/scenetext01.jpg", "text/scenetext02.jpg",
     "text/scenetext05.jpg", "ximgproc/stanford.png")  # fmt: skip
_WIDTHS = (0.55, 0.8)  # a window's starting width, as a fraction of the widest that fits


@dataclass(frozen=True)
class FootageSpec:
    """Everything that determines the footage set's files (the cache key)."""

    videos: tuple[str, ...] = FOOTAGE
    num_frames: int = 32
    width: int = 320
    height: int = 240
    clips_per_group: int = 2
    test_fraction: float = 0.3
    seed: int = 0


@dataclass(frozen=True)
class PhotoSpec:
    """Everything that determines the photo set's files (the cache key)."""

    photos: tuple[str, ...] = PHOTOS
    test_photos: int = 8
    num_frames: int = 40
    width: int = 256
    height: int = 192
    fps: int = 30
    clips_per_group: int = 3
    seed: int = 0


def _key(spec: FootageSpec | PhotoSpec) -> dict:
    return json.loads(json.dumps(asdict(spec)))  # tuples as the marker's JSON lists


def _footage_clip(cls: str, window: np.ndarray, spec: FootageSpec, rng: np.random.Generator) -> np.ndarray:
    """One clip of ``cls`` from a window of 2 x num_frames source frames: uint8 (num_frames, h, w, 3)."""
    n = spec.num_frames
    if cls == "PlayFast":
        frames = window[::2]
    else:
        start = int(rng.integers(0, len(window) - n + 1))
        frames = window[start : start + n][::-1] if cls == "PlayBackward" else window[start : start + n]
    motion = cls if cls.startswith(("Pan", "Tilt")) else "Static"
    path = camera_path(motion, rng, n, frames.shape[1:3], spec.width / spec.height, _WIDTHS)
    return film(np.ascontiguousarray(frames), path, (spec.height, spec.width))


def generate_footage(root: str | Path, spec: FootageSpec = FootageSpec(), source: str | Path | None = None) -> Path:
    """Write the footage set under ``root`` unless it is there; ``source``: see package_media.find_examples."""
    root = Path(root)
    if is_generated(root, "heldout_footage.json", _key(spec), "held-out footage", "OpenCVFootage"):
        return root
    if not 0 < spec.test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {spec.test_fraction}")
    examples = find_examples(source)
    paths = [media_path(examples, name) for name in spec.videos]
    rng = np.random.default_rng(spec.seed)
    train, test, group, length = [], [], 0, 2 * spec.num_frames
    for path in paths:
        frames, fps = read_footage(path, short_side=round(spec.height * 1.25))
        cut = int(len(frames) * (1 - spec.test_fraction))
        for part, names in ((frames[:cut], train), (frames[cut:], test)):
            if len(part) < length:
                raise ValueError(f"{path}: {len(part)} frames in a split, fewer than 2 x num_frames = {length}")
            for start in range(0, len(part) - length + 1, spec.num_frames // 2):
                group += 1
                for cls in FOOTAGE_CLASSES:
                    for clip in range(1, spec.clips_per_group + 1):
                        name = f"{cls}/v_{cls}_g{group:02d}_c{clip:02d}.avi"
                        clip_frames = _footage_clip(cls, part[start : start + length], spec, rng)
                        write_video(root / "UCF-101" / name, clip_frames, fps)
                        names.append(name)
    write_ucf101_lists(root, FOOTAGE_CLASSES, train, test)
    (root / "heldout_footage.json").write_text(json.dumps(_key(spec)))
    return root


def generate_photos(root: str | Path, spec: PhotoSpec = PhotoSpec(), source: str | Path | None = None) -> Path:
    """Write the photo set under ``root`` unless it is there; ``source``: see package_media.find_examples."""
    root = Path(root)
    if is_generated(root, "heldout_photos.json", _key(spec), "held-out photos", "OpenCVPhotos"):
        return root
    if not 0 < spec.test_photos < len(spec.photos):
        raise ValueError(f"test_photos must be in [1, {len(spec.photos) - 1}], got {spec.test_photos}")
    examples = find_examples(source)
    paths = [media_path(examples, name) for name in spec.photos]
    rng = np.random.default_rng(spec.seed)
    test_ids = set(rng.permutation(len(paths))[: spec.test_photos].tolist())
    train, test = [], []
    for group, path in enumerate(paths, 1):
        photo = read_photo(path, short_side=2 * spec.height)
        for cls in MOTIONS:
            for clip in range(1, spec.clips_per_group + 1):
                name = f"{cls}/v_{cls}_g{group:02d}_c{clip:02d}.avi"
                camera = camera_path(cls, rng, spec.num_frames, photo.shape[:2], spec.width / spec.height, _WIDTHS)
                write_video(root / "UCF-101" / name, film(photo, camera, (spec.height, spec.width)), spec.fps)
                (test if group - 1 in test_ids else train).append(name)
    write_ucf101_lists(root, MOTIONS, train, test)
    (root / "heldout_photos.json").write_text(json.dumps(_key(spec)))
    return root


class OpenCVFootage(UCF101):
    """The UCF101 reader over the held-out footage set, generated on first use (``source``: the .deb or folder)."""

    def __init__(
        self, root: str = "data/heldout_footage", source: str | None = None, num_frames: int = 32, seed: int = 0
    ) -> None:
        super().__init__(root, split=1)
        self.source, self.spec = source, FootageSpec(num_frames=num_frames, seed=seed)

    def prepare(self) -> None:
        generate_footage(self.root, self.spec, self.source)


class OpenCVPhotos(UCF101):
    """The UCF101 reader over the held-out photo set, generated on first use (``source``: the .deb or folder)."""

    def __init__(
        self, root: str = "data/heldout_photos", source: str | None = None, num_frames: int = 40, seed: int = 0
    ) -> None:
        super().__init__(root, split=1)
        self.source, self.spec = source, PhotoSpec(num_frames=num_frames, seed=seed)

    def prepare(self) -> None:
        generate_photos(self.root, self.spec, self.source)


def main(argv: list[str] | None = None) -> None:
    """``videovision generate-heldout``: write a held-out real-media set."""
    parser = argparse.ArgumentParser(prog="videovision generate-heldout", description=__doc__.split("\n\n")[0])
    parser.add_argument("set", choices=("footage", "photos"))
    parser.add_argument("--root", help="output folder (default: data/heldout_<set>)")
    parser.add_argument(
        "--source-deb",
        help="opencv-doc's .deb or its unpacked folder (default: an installed copy, else apt-get download)",
    )
    args = parser.parse_args(argv)
    root = args.root or f"data/heldout_{args.set}"
    make = generate_footage if args.set == "footage" else generate_photos
    print(f"held-out {args.set} ready in {make(root, source=args.source_deb)}")
