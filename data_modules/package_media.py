"""Real media that ships in a Debian package: the sample footage and photographs of ``opencv-doc``.

``opencv-doc`` (4.6.0 in Debian 12) installs OpenCV's sample data under
``/usr/share/doc/opencv-doc/examples/``: three real videos (``data/vtest.avi``, pedestrians, 768x576 at
10 fps; ``data/Megamind.avi``, animation, 720x528 at 24 fps; ``data/tree.avi``, 320x240 at 15 fps) and
dozens of photographs. :func:`find_examples` finds that folder in, by order of preference, a path the
user gives (the ``.deb`` itself, unpacked with ``dpkg-deb -x`` without installing; or a folder that
holds the unpacked tree or the ``examples`` folder), an installed copy, an earlier unpack in the cache,
or a fresh ``apt-get download opencv-doc`` into the cache.
"""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

PACKAGE = "opencv-doc"
_EXAMPLES = Path("usr/share/doc/opencv-doc/examples")
_INSTALLED = Path("/") / _EXAMPLES


class MediaSourceError(FileNotFoundError):
    """The package's media cannot be found or fetched; the message says how to provide it."""


def _examples_in(folder: Path) -> Path | None:
    for candidate in (folder, folder / "examples", folder / _EXAMPLES):
        if (candidate / "data").is_dir():
            return candidate
    return None


def _unpack(deb: Path, cache: Path) -> Path:
    if shutil.which("dpkg-deb") is None:
        raise MediaSourceError(f"dpkg-deb is needed to unpack {deb}; unpack it elsewhere and pass the folder instead")
    target = cache / deb.stem
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    return target


def find_examples(source: str | Path | None = None, cache: str | Path = "data/package_media") -> Path:
    """The ``examples`` folder of ``opencv-doc`` (it holds ``data/vtest.avi``).

    ``source``: a ``.deb`` file or a folder holding the unpacked package (any of its levels down to
    ``examples``); ``None`` looks for an installed copy, then in ``cache``, then downloads the .deb
    there with ``apt-get download`` (no root needed, nothing installed).
    """
    cache = Path(cache)
    if source is not None:
        source = Path(source)
        if source.is_file() and source.suffix == ".deb":
            found = _examples_in(_unpack(source, cache))
        elif source.is_dir():
            found = _examples_in(source)
        else:
            raise MediaSourceError(
                f"{source}: no such .deb file or folder (give {PACKAGE}'s .deb or its unpacked folder)"
            )
        if found is None:
            raise MediaSourceError(f"{source} holds no {_EXAMPLES}/data: is it {PACKAGE}'s .deb or its unpacked tree?")
        return found
    for folder in (_INSTALLED, *sorted(cache.glob(f"{PACKAGE}_*"))):
        if (found := _examples_in(folder)) is not None:
            return found
    if shutil.which("apt-get") is None:
        raise MediaSourceError(
            f"{PACKAGE} is not installed and apt-get is absent: download {PACKAGE}_*.deb (Debian 12 has 4.6.0) and "
            "pass it, or its unpacked folder, as the source (--source-deb / source=)"
        )
    cache.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["apt-get", "download", PACKAGE], cwd=cache, capture_output=True, text=True)
    debs = sorted(cache.glob(f"{PACKAGE}_*.deb"))
    if done.returncode != 0 or not debs:
        raise MediaSourceError(
            f"apt-get download {PACKAGE} failed ({done.stderr.strip()[-300:]}); download the .deb by hand "
            "and pass it as the source (--source-deb / source=)"
        )
    found = _examples_in(_unpack(debs[-1], cache))
    if found is None:
        raise MediaSourceError(f"{debs[-1]} holds no {_EXAMPLES}/data")
    return found


def media_path(examples: Path, name: str) -> Path:
    """``examples / name``, or an error naming the file the package should hold."""
    path = examples / name
    if not path.is_file():
        raise MediaSourceError(f"{path} is missing: {examples} is not a complete copy of {PACKAGE}'s examples")
    return path


def read_photo(path: Path, short_side: int) -> np.ndarray:
    """An RGB photograph with its short side resized to ``short_side``: uint8 (H, W, 3)."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        scale = short_side / min(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        return np.array(image.resize(size, Image.Resampling.BILINEAR))


def read_footage(path: Path, short_side: int) -> tuple[np.ndarray, Fraction]:
    """Every frame of a video, its short side resized to ``short_side``: uint8 (T, H, W, 3), and its frame rate."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate).limit_denominator(1001)
        scale = short_side / min(stream.codec_context.width, stream.codec_context.height)
        width = 2 * round(stream.codec_context.width * scale / 2)
        height = 2 * round(stream.codec_context.height * scale / 2)
        frames = [f.to_ndarray(format="rgb24", width=width, height=height) for f in container.decode(stream)]
    if not frames:
        raise MediaSourceError(f"{path} decoded to no frames")
    return np.stack(frames), fps
