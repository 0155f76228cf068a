"""``videovision classify DIR --ckpt X``: top-5 classes, with names, for every video of a folder.

The classifier checkpoint (a probe or fine-tune, ``VideoClassifier``) carries its class names and the
config of the run that trained it, so the model is rebuilt from the checkpoint alone; the videos are
read with that run's decoding and test-time views. Writes ``predictions.csv``/``.json`` (and the
embeddings) to ``--out`` and prints one line per video.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from data_modules import VideoDataModule

from .. import runs
from ..checkpoints import RUN_CONFIG_KEY, CheckpointError, load_checkpoint_entry


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="videovision classify", description=__doc__.split("\n\n")[0])
    parser.add_argument("videos", help="a folder of videos (any tree; labels are not read)")
    parser.add_argument("--ckpt", required=True, help="a VideoClassifier checkpoint (probe or fine-tune)")
    parser.add_argument("--out", default="runs/classify", help="where predictions.csv/.json go (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not Path(args.videos).is_dir():
        parser.error(f"not a folder: {args.videos}")
    classes = load_checkpoint_entry(args.ckpt, "classes")
    try:  # the frame size 'auto' resolved to in training, not one worked out from these videos
        frame_size = load_checkpoint_entry(args.ckpt, VideoDataModule.__qualname__).get("frame_size")
    except CheckpointError:
        frame_size = None
    overrides = {
        "data.init_args.frame_size": frame_size,
        "model.init_args.pretrained": None,
        "model.init_args.num_classes": len(classes),
        "data.init_args.reader": {
            "class_path": "data_modules.VideoFolder",
            "init_args": {"root": args.videos, "labelled": False},
        },
        "data.init_args.predict_split": "train",  # a folder without split folders is all "train"
        "data.init_args.val_fraction": None,  # a run that validated on part of its videos would hold out some of these
        "data.init_args.batch_size": args.batch_size,
        "data.init_args.num_workers": args.workers,
        "trainer.logger": False,
        "trainer.callbacks": [
            {"class_path": "videovision.callbacks.EmbeddingWriter", "init_args": {"out_dir": args.out}}
        ],
        "trainer.default_root_dir": args.out,
        **runs.QUIET,
    }
    runs.predict(load_checkpoint_entry(args.ckpt, RUN_CONFIG_KEY), overrides, ckpt_path=args.ckpt)
    table = json.loads((Path(args.out) / "predictions.json").read_text())
    for row in table:
        print(f"{row['path']}: " + ", ".join(row["top5"]) + f" (p={row['probability']:.2f})")
    print(f"saved {Path(args.out) / 'predictions.csv'} and predictions.json")
    return table
