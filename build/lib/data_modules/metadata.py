"""Metadata cache: every video of a dataset probed once (real length, fps, size, backend), kept on disk.

The cache is a JSON Lines file, one line per probed video (path, size and modification time, and the
metadata or the reason it does not decode), appended as each probe finishes: an interrupted probe of
a large dataset resumes where it stopped, and a line cut short by the interruption is ignored. A
changed file (other size or time) is probed again; the newest line of a path wins, and the file is
rewritten compactly when stale lines outnumber live ones. Probes run in worker processes with a
progress bar on a terminal.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from .video_io import VideoDecodeError, VideoMeta, probe_video

log = logging.getLogger(__name__)
# Below this many videos per worker, starting worker processes costs more than it saves.
_MIN_VIDEOS_PER_WORKER = 8


def _stamp(path: str) -> list[float]:
    try:
        st = os.stat(path)
    except OSError:
        return [-1, -1]
    return [st.st_size, st.st_mtime]


def _probe(path: str) -> dict:
    try:
        return {"path": path, "stamp": _stamp(path), "meta": asdict(probe_video(path))}
    except VideoDecodeError as exc:
        return {"path": path, "stamp": _stamp(path), "error": str(exc)}


def read_cache(cache_file: Path) -> tuple[dict[str, dict], int]:
    """The newest entry of each path in ``cache_file`` and the number of lines read (0 if absent)."""
    entries: dict[str, dict] = {}
    lines = 0
    if cache_file.exists():
        for line in cache_file.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of an interrupted probe
            entries[entry["path"]] = entry
            lines += 1
    return entries, lines


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _probe_all(paths: list[str], num_workers: int) -> Iterator[dict]:
    if num_workers > 1 and len(paths) >= _MIN_VIDEOS_PER_WORKER * num_workers:
        # spawn: the parent may hold threads (Lightning, loggers) that a forked child must not inherit
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(num_workers, mp_context=context) as pool:
            yield from pool.map(_probe, paths, chunksize=4)
    else:
        yield from map(_probe, paths)


def probe_videos(paths: list[str], cache_file: str | Path, num_workers: int = 0) -> dict[str, VideoMeta | str]:
    """Probe ``paths``, reusing and extending ``cache_file``; returns path -> :class:`VideoMeta` or the
    reason it does not decode."""
    cache_file = Path(cache_file)
    cache, lines = read_cache(cache_file)
    todo = [p for p in dict.fromkeys(paths) if cache.get(p, {}).get("stamp") != _stamp(p)]
    if todo:
        log.info("probing %d videos (real length, fps, backend) into %s", len(todo), cache_file)
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with cache_file.open("a") as out:
            if cache_file.stat().st_size and not _ends_with_newline(cache_file):
                out.write("\n")  # close the line an interrupted probe left unfinished
            for entry in tqdm(_probe_all(todo, num_workers), total=len(todo), desc="probing videos", disable=None):
                cache[entry["path"]] = entry
                out.write(json.dumps(entry) + "\n")
                out.flush()
                lines += 1
    if lines > 2 * len(cache):
        tmp = cache_file.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text("".join(json.dumps(entry) + "\n" for entry in cache.values()))
        tmp.replace(cache_file)
    return {p: VideoMeta(**cache[p]["meta"]) if "meta" in cache[p] else cache[p]["error"] for p in paths}
