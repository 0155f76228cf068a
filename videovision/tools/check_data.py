"""``videovision check-data [DIR] [--config X.yaml]``: probe every video of a dataset before training.

Like MMAction2's ``check_videos.py``: each video of the train and test splits is decoded once (real
length, fps, size, which backend reads it right); bad files are listed with their reason, cut files
with the frames they keep, the resolutions found and the probe's throughput are shown, and it says
what training will do with the split (skip the bad videos, or refuse the split above
``data.max_bad_fraction``). The results land in the metadata cache that training reads, so the first
epoch starts at once. ``DIR`` alone checks a folder of videos (any tree) as the demo's pretraining reads it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import numpy as np

from data_modules import MissingSplitError, VideoDataModule, VideoFolder
from data_modules.metadata import probe_videos
from data_modules.video_datamodule import SHORT_VIDEO_RULES, bad_fraction_error
from data_modules.video_io import VideoMeta

from .. import runs

FOLDER_CONFIG = "demo/pretrain.yaml"
"""What a bare folder is checked against: the README's own-data path pretrains with it (its samplers, its
``max_bad_fraction``), so "short" means shorter than its tuples."""


def _datamodule(args: argparse.Namespace, overrides: list[str]) -> VideoDataModule:
    if args.config:
        return runs.build(args.config, cli_args=overrides).datamodule
    if overrides:
        raise SystemExit(f"check-data: options {overrides} need --config")
    VideoFolder(args.folder, labelled=False)  # a missing folder is named before anything is built
    reader = {"class_path": "data_modules.VideoFolder", "init_args": {"root": args.folder, "labelled": False}}
    overrides = {"data.init_args.reader": reader, "data.init_args.num_workers": args.workers, **runs.QUIET}
    return runs.build(FOLDER_CONFIG, overrides).datamodule


def _check_split(datamodule: VideoDataModule, split: str, workers: int) -> dict | None:
    try:
        paths = [r.path for r in datamodule.records(split)]
    except MissingSplitError as exc:
        print(f"{split}: none ({exc})")
        return None
    start = time.perf_counter()
    metas = probe_videos(paths, datamodule.cache_file, num_workers=workers)
    seconds = time.perf_counter() - start
    good = [m for m in metas.values() if isinstance(m, VideoMeta)]
    bad = {p: m for p, m in metas.items() if isinstance(m, str)}
    lengths = np.array([m.num_frames for m in good]) if good else np.zeros(1)
    sampler = datamodule.train_sampler
    short = [m for m in good if not sampler.fits(m.num_frames, m.fps)]
    error = bad_fraction_error(len(bad), len(paths), datamodule.max_bad_fraction, f"{split} split")
    verdict = f"training will REFUSE this split: {error}" if error else f"training skips the {len(bad)} bad videos"
    report = {
        "videos": len(paths),
        "decodable": len(good),
        "bad": bad,
        "truncated": sorted(p for p, m in metas.items() if isinstance(m, VideoMeta) and m.truncated),
        "missing_from_listing": getattr(datamodule.reader, "missing", {}).get(split, 0),
        "frames": {"min": int(lengths.min()), "median": float(np.median(lengths)), "max": int(lengths.max())},
        "resolutions": {f"{w}x{h}": n for (w, h), n in Counter((m.width, m.height) for m in good).most_common()},
        "backends": dict(Counter(m.backend for m in good)),
        "shorter_than_a_training_sample": len(short),
        "probe_seconds": round(seconds, 2),
        "verdict": verdict,
    }
    r = report
    print(
        f"{split}: {r['decodable']} of {r['videos']} videos decode; frames min/median/max "
        f"{r['frames']['min']}/{r['frames']['median']:.0f}/{r['frames']['max']}; backends {r['backends']}"
        + (f"; {r['missing_from_listing']} listed but missing" if r["missing_from_listing"] else "")
    )
    sizes = ", ".join(f"{size} ({n})" for size, n in list(r["resolutions"].items())[:5])
    print(
        f"  resolutions: {sizes}"
        + (" (mixed: batches are resized to one size; set data.decode_size)" if len(r["resolutions"]) > 1 else "")
    )
    print(f"  probed in {seconds:.1f} s ({len(paths) / max(seconds, 1e-9):.1f} videos/s; cached videos cost nothing)")
    for reason in bad.values():
        print(f"  BAD {reason}")
    for path in r["truncated"]:
        print(f"  CUT {path}: {metas[path].num_frames} frames decode and are used")
    if short:
        need = max(sampler.frames_needed(sampler.step(m.fps)) for m in short)
        rule = sampler.short_video
        print(
            f"  SHORT {len(short)} videos hold fewer than the {need} frames a training sample of "
            f"{type(sampler).__name__} spans; short_video={rule!r}: {SHORT_VIDEO_RULES[rule]}"
        )
    print(f"  {verdict}")
    return report


def _split_arguments(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[list[str], list[str]]:
    """``parser``'s own arguments (its options and the folder), and the LightningCLI overrides: an unknown option and
    its value when given apart (``--data.init_args.reader '{"class_path": ...}'``: a value with spaces is the
    override's, not the folder)."""
    known = {option for action in parser._actions for option in action.option_strings}
    own, overrides, i = [], [], 0
    while i < len(argv):
        name = argv[i].split("=", 1)[0]
        abbreviates = [option for option in known if option.startswith(name)] if name.startswith("--") else []
        if argv[i].startswith("-") and name not in known and len(abbreviates) != 1:
            takes_value = "=" not in argv[i] and i + 1 < len(argv) and not argv[i + 1].startswith("-")
            overrides += argv[i : i + 2] if takes_value else argv[i : i + 1]
            i += 2 if takes_value else 1
            continue
        own.append(argv[i])
        i += 1
    return own, overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="videovision check-data", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", help="a folder of videos to check without a config")
    parser.add_argument("--config", help="a fit config (its data section is used)")
    parser.add_argument("--workers", type=int, default=4, help="parallel probes (processes)")
    parser.add_argument("--report", help="also write the report as JSON here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any video is bad")
    own, overrides = _split_arguments(parser, sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(own)
    if bool(args.folder) == bool(args.config):
        parser.error("give a folder of videos or --config, one of them")
    datamodule = _datamodule(args, overrides)
    datamodule.reader.prepare()
    report = {split: r for split in ("train", "test") if (r := _check_split(datamodule, split, args.workers))}
    print(f"metadata cache: {datamodule.cache_file}")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if args.strict and any(r["bad"] for r in report.values()) else 0
