"""``videovision check-data --config X.yaml``: probe every video of the config's dataset before training.

Like MMAction2's ``check_videos.py``: each video of the train and test splits is decoded once
(real length, fps, which backend reads it right), bad files are listed with their reason, and
the results land in the same metadata cache that training reads, so the first epoch starts at once.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import numpy as np

from data_modules.metadata import probe_videos
from data_modules.video_io import VideoMeta

from .. import runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="videovision check-data", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="a fit config (its data section is used)")
    parser.add_argument("--workers", type=int, default=4, help="parallel probes (threads)")
    parser.add_argument("--report", help="also write the report as JSON here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any video is bad")
    args, overrides = parser.parse_known_args(argv)
    datamodule = runs.build(args.config, cli_args=overrides).datamodule
    datamodule.reader.prepare()
    report: dict[str, dict] = {}
    for split in ("train", "test"):
        paths = [r.path for r in datamodule.reader.records(split)]
        metas = probe_videos(paths, datamodule.cache_file, num_workers=args.workers)
        good = [m for m in metas.values() if isinstance(m, VideoMeta)]
        bad = {p: m for p, m in metas.items() if isinstance(m, str)}
        lengths = np.array([m.num_frames for m in good]) if good else np.zeros(1)
        report[split] = {
            "videos": len(paths),
            "decodable": len(good),
            "bad": bad,
            "missing_from_listing": getattr(datamodule.reader, "missing", {}).get(split, 0),
            "frames": {"min": int(lengths.min()), "median": float(np.median(lengths)), "max": int(lengths.max())},
            "backends": dict(Counter(m.backend for m in good)),
        }
        r = report[split]
        print(
            f"{split}: {r['decodable']} of {r['videos']} videos decode; frames min/median/max "
            f"{r['frames']['min']}/{r['frames']['median']:.0f}/{r['frames']['max']}; backends {r['backends']}"
            + (f"; {r['missing_from_listing']} listed but missing" if r["missing_from_listing"] else "")
        )
        for reason in bad.values():
            print(f"  BAD {reason}")
    print(f"metadata cache: {datamodule.cache_file}")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if args.strict and any(r["bad"] for r in report.values()) else 0
