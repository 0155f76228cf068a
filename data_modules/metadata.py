"""Metadata cache: every video of a dataset probed once (real length, fps, backend), kept on disk.

The cache is a JSON file keyed by path, size and modification time, so a changed file is probed
again. Bad files are kept in the cache with their reason, so they are reported, not re-probed.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from .video_io import VideoDecodeError, VideoMeta, probe_video

log = logging.getLogger(__name__)


def _stamp(path: str) -> list[float]:
    try:
        st = os.stat(path)
    except OSError:
        return [-1, -1]
    return [st.st_size, st.st_mtime]


def _probe(path: str) -> dict:
    try:
        return {"meta": asdict(probe_video(path))}
    except VideoDecodeError as exc:
        return {"error": str(exc)}


def probe_videos(paths: list[str], cache_file: str | Path, num_workers: int = 0) -> dict[str, VideoMeta | str]:
    """Probe ``paths``, reusing ``cache_file``; returns path -> :class:`VideoMeta` or the error message."""
    cache_file = Path(cache_file)
    cache: dict = json.loads(cache_file.read_text()) if cache_file.exists() else {}
    stamps = {p: _stamp(p) for p in paths}
    todo = [p for p in paths if cache.get(p, {}).get("stamp") != stamps[p]]
    if todo:
        log.info("probing %d videos (real length, fps, backend) into %s", len(todo), cache_file)
        if num_workers > 0 and len(todo) > 1:  # FFmpeg decodes without the GIL, so threads run in parallel
            with ThreadPoolExecutor(num_workers) as pool:
                results = list(pool.map(_probe, todo))
        else:
            results = [_probe(p) for p in todo]
        for path, result in zip(todo, results):
            cache[path] = {"stamp": stamps[path], **result}
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(cache))
        tmp.replace(cache_file)
    return {p: VideoMeta(**cache[p]["meta"]) if "meta" in cache[p] else cache[p]["error"] for p in paths}
