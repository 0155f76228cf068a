"""``videovision extract-frames SRC DST``: every video under SRC as a folder of JPEG frames under DST.

``SRC/a/b.avi`` becomes ``DST/a/b/img_00001.jpg ...`` plus ``frames.json`` (frame rate, source),
the layout ``data.frames_dir`` reads with the dataset's own reader and split files. Finished
folders are skipped, so an interrupted extraction resumes; a video that does not decode is
reported with its reason and counted, never fatal.
"""

from __future__ import annotations

import argparse
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av

from data_modules.frame_folders import MARKER, extract_frames
from data_modules.readers import VIDEO_SUFFIXES

log = logging.getLogger(__name__)


def extract_tree(
    src: str | Path,
    dst: str | Path,
    fps: float | None = None,
    short_side: int | None = None,
    quality: int = 90,
    workers: int = 2,
) -> dict[str, str]:
    """Extract every video below ``src``; returns the videos that failed, path -> reason."""
    src, dst = Path(src), Path(dst)
    videos = sorted(p for p in src.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    todo = [v for v in videos if not (dst / v.relative_to(src).with_suffix("") / MARKER).is_file()]
    log.info("%d videos under %s, %d to extract into %s", len(videos), src, len(todo), dst)

    def one(video: Path) -> tuple[Path, str | None]:
        try:
            extract_frames(video, dst / video.relative_to(src).with_suffix(""), fps, short_side, quality)
            return video, None
        except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
            return video, str(exc) or type(exc).__name__

    failed: dict[str, str] = {}
    with ThreadPoolExecutor(max(1, workers)) as pool:  # FFmpeg and JPEG encoding release the GIL
        for video, error in pool.map(one, todo):
            if error is not None:
                failed[str(video)] = error
                log.warning("skipping %s: %s", video, error)
    return failed


def main(argv: list[str] | None = None) -> int:
    """Exit status 1 when any video failed (the rest are extracted; a rerun retries only the failed ones)."""
    parser = argparse.ArgumentParser(prog="videovision extract-frames", description=__doc__.split("\n\n")[0])
    parser.add_argument("src", help="folder of videos (searched recursively)")
    parser.add_argument("dst", help="folder for the frame folders")
    parser.add_argument("--fps", type=float, default=None, help="frames per second to keep (default: every frame)")
    parser.add_argument("--short-side", type=int, default=None, help="resize so the shorter side has this many pixels")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    failed = extract_tree(args.src, args.dst, args.fps, args.short_side, args.quality, args.workers)
    print(f"done; {len(failed)} videos failed" + "".join(f"\n  {path}: {reason}" for path, reason in failed.items()))
    return 1 if failed else 0
