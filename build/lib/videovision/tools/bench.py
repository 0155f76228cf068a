"""``videovision bench`` (``make bench``): how fast the training DataLoader reads clips, beside baselines.

On generated H.264 videos (320x240, 25 fps, 10 s; GOP 25 and GOP 250), 16-frame clips decoded to
112x112 by 2 workers, batches of 8:

- **ours**: :class:`data_modules.VideoDataModule`'s training loader (decord, only the needed frames);
- **PyAV whole video**: a loader that decodes the whole video with PyAV, then samples a clip
  (as PyTorchVideo's ``EncodedVideo`` does without seeking); measured in alternating rounds with ours;
- **ffmpeg bound**: ``ffmpeg -threads 1 -f null`` decode speed on the same files, one process per
  worker, divided by the frames a random clip needs from its preceding keyframe (``start mod GOP + 16``).

Then worker memory: RSS of each worker over ``--memory-clips`` clip reads, growth after warm-up.
Needs the ``ffmpeg`` program (``apt-get install ffmpeg``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from data_modules import RandomClipSampler, VideoDataModule
from data_modules.readers import VideoFolder

CLIP_LEN, SIZE, FPS, SECONDS, BATCH = 16, 112, 25, 10, 8


def make_videos(folder: Path, gop: int, count: int) -> list[Path]:
    """``count`` H.264 videos (320x240, 25 fps, 10 s, keyframe every ``gop`` frames), each with other content."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"gop{gop}_{i:02d}.mp4"
        if not path.exists():
            source = f"testsrc2=size=320x240:rate={FPS}:duration={SECONDS},hue=h={i * 360 / count},noise=alls=12:allf=t"
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", "fast",
                 "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p", str(path)],
                check=True,
            )  # fmt: skip
        paths.append(path)
    return paths


def ffmpeg_frames_per_second(paths: list[Path], workers: int) -> float:
    """Frames per second that ``workers`` single-threaded ffmpeg processes decode together."""

    def decode(path: Path) -> None:
        subprocess.run(["ffmpeg", "-v", "error", "-threads", "1", "-i", str(path), "-f", "null", "-"], check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(decode, paths))
    return len(paths) * FPS * SECONDS / (time.perf_counter() - start)


def frames_per_clip(num_frames: int, gop: int) -> float:
    """Mean frames decoded for a random clip: from the keyframe before its start to its end."""
    starts = np.arange(num_frames - CLIP_LEN + 1)
    return float(np.mean(starts % gop + CLIP_LEN))


class DecodeWholeVideo(Dataset):
    """The baseline: decode every frame of the video with PyAV, then take a random 16-frame clip."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        with av.open(str(self.paths[index])) as container:
            stream = container.streams.video[0]
            frames = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
        start = int(torch.randint(0, len(frames) - CLIP_LEN + 1, ()))
        clip = torch.from_numpy(frames[start : start + CLIP_LEN]).permute(0, 3, 1, 2).float()
        clip = (
            F.interpolate(clip, size=(SIZE, SIZE), mode="bilinear", antialias=True)
            .round()
            .clamp(0, 255)
            .to(torch.uint8)
        )
        return {"clips": clip[None]}


def our_loader(folder: Path, workers: int, cache_dir: Path) -> DataLoader:
    dm = VideoDataModule(
        VideoFolder(str(folder), labelled=False),
        RandomClipSampler(clip_len=CLIP_LEN),
        batch_size=BATCH,
        num_workers=workers,
        decode_size=(SIZE, SIZE),
        cache_dir=str(cache_dir),
    )
    dm.prepare_data()
    dm.setup("fit")
    return dm.train_dataloader()


def _forever(loader: DataLoader) -> Iterator[dict]:
    while True:
        yield from loader


def clips_per_second(loader: DataLoader, batches: int) -> float:
    """Clips per second over ``batches`` batches (epochs restart as needed), after two warm-up batches."""
    batches_left = _forever(loader)
    for _ in range(2):
        next(batches_left)
    start = time.perf_counter()
    clips = sum(len(next(batches_left)["clips"]) for _ in range(batches))
    return clips / (time.perf_counter() - start)


def _children_rss_mb() -> dict[int, float]:
    """RSS in MB of this process's children (the DataLoader workers)."""
    rss = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0")) == os.getpid() and "VmRSS" in fields:
            rss[int(entry.name)] = int(fields["VmRSS"].split()[0]) / 1024
    return rss


def worker_memory(loader: DataLoader, clips: int, warmup: int) -> dict:
    """Worker RSS after ``warmup`` clip reads and after ``clips``; growth in between."""
    read, samples = 0, []
    for batch in _forever(loader):
        read += len(batch["clips"])
        if read >= warmup and (not samples or read - samples[-1][0] >= clips // 10 or read >= clips):
            samples.append((read, sum(_children_rss_mb().values())))
        if read >= clips:
            break
    first, last = samples[0][1], samples[-1][1]
    return {
        "clips": read,
        "rss_mb_after_warmup": round(first, 1),
        "rss_mb_end": round(last, 1),
        "growth": round(last / first - 1, 4),
        "samples": [(n, round(mb, 1)) for n, mb in samples],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--videos", type=int, default=64, help="videos per GOP setting (8 batches per epoch)")
    parser.add_argument("--batches", type=int, default=15, help="batches of 8 clips per measured round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of ours and the PyAV loader")
    parser.add_argument("--memory-clips", type=int, default=10_000)
    parser.add_argument("--out", default="runs/bench", help="generated videos and data.json go here")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None:
        raise SystemExit("videovision bench needs the ffmpeg program to make its videos: apt-get install ffmpeg")
    out = Path(args.out)
    torch.set_num_threads(1)
    results: dict = {"workers": args.workers, "clip": f"{CLIP_LEN} frames at {SIZE}x{SIZE}", "gop": {}}
    with tempfile.TemporaryDirectory() as cache:
        for gop in (25, 250):
            paths = make_videos(out / f"videos_gop{gop}", gop, args.videos)
            ours_loader = our_loader(paths[0].parent, args.workers, Path(cache))
            baseline = DataLoader(
                DecodeWholeVideo(paths),
                batch_size=BATCH,
                shuffle=True,
                num_workers=args.workers,
                persistent_workers=True,
            )
            ours, whole = [], []
            for _ in range(args.rounds):
                ours.append(clips_per_second(ours_loader, args.batches))
                whole.append(clips_per_second(baseline, max(2, args.batches // 3)))
            bound = ffmpeg_frames_per_second(paths, args.workers) / frames_per_clip(FPS * SECONDS, gop)
            row = {"ours": float(np.median(ours)), "pyav_whole_video": float(np.median(whole)), "ffmpeg_bound": bound}
            row["ours_vs_ffmpeg_bound"] = row["ours"] / bound
            row["ours_vs_pyav_whole_video"] = row["ours"] / row["pyav_whole_video"]
            results["gop"][gop] = row
            del ours_loader, baseline
        memory_loader = our_loader(out / "videos_gop25", args.workers, Path(cache))
        results["memory"] = worker_memory(memory_loader, args.memory_clips, warmup=min(1000, args.memory_clips // 5))
    _print(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "data.json").write_text(json.dumps(results, indent=2))
    print(f"saved {out / 'data.json'}")
    return results


def _print(results: dict) -> None:
    print(f"\nTraining loader, {results['clip']}, {results['workers']} workers, clips/s (higher is better)")
    print(f"{'GOP':>5}{'ours':>10}{'ffmpeg bound':>15}{'ours/bound':>12}{'PyAV whole':>13}{'ours/PyAV':>11}")
    for gop, row in results["gop"].items():
        print(f"{gop:>5}{row['ours']:>10.1f}{row['ffmpeg_bound']:>15.1f}{row['ours_vs_ffmpeg_bound']:>12.2f}"
              f"{row['pyav_whole_video']:>13.1f}{row['ours_vs_pyav_whole_video']:>11.2f}")  # fmt: skip
    memory = results["memory"]
    print(f"worker RSS over {memory['clips']} clips: {memory['rss_mb_after_warmup']} MB after warm-up, "
          f"{memory['rss_mb_end']} MB at the end ({100 * memory['growth']:+.1f} %)")  # fmt: skip
