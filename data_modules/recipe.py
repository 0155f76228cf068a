"""Frame size sized from the data: what ``crop_size: auto`` / ``resize: auto`` in a transform resolve to.

The rule: a quarter of the training videos' median short side, rounded to a multiple of 16, within
[32, 112] (112 is the papers' crop, e.g. VCOP, Xu et al. 2019; a quarter keeps a CPU run affordable
while a 240-line video keeps detail a 32 px frame loses). Moving digits (64 px) gives 32, 320x240
footage 64, 448 px and above 112. Frame spacing comes from the videos' rate through the samplers'
``target_fps``; clips that do not fit follow their ``short_video`` rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .metadata import probe_videos
from .video_io import VideoMeta

MIN_SIZE, MAX_SIZE = 32, 112


def frame_size(short_sides: list[int]) -> int:
    """The frame size (px) for videos whose short sides are ``short_sides``."""
    if not short_sides:
        raise ValueError("frame size 'auto' needs at least one decodable training video")
    quarter = float(np.median(short_sides)) / 4
    return int(min(MAX_SIZE, max(MIN_SIZE, 16 * round(quarter / 16))))


def auto_frame_size(paths: list[str], cache_file: str | Path) -> tuple[int, str]:
    """The frame size for the training videos at ``paths`` (undecodable ones left out, probed through the metadata
    cache ``cache_file``) and a line that says what it was sized from, for the log."""
    metas = [m for m in probe_videos(paths, cache_file).values() if isinstance(m, VideoMeta)]
    sides = [min(m.height, m.width) for m in metas]
    size = frame_size(sides)
    fps = sorted(m.fps for m in metas)[len(metas) // 2]
    return size, (
        f"frame size 'auto': {size} px (a quarter of the median short side, {int(np.median(sides))} px, of "
        f"{len(metas)} training videos; median {fps:g} fps)"
    )
