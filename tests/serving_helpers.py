"""Fixtures for the serving tests: a classifier checkpoint of the demo model (random weights, 8 named
classes, no training) and small videos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from data_modules.moving_digits import write_video
from videovision.serving.model import save_untrained_classifier

CLASSES = [f"class_{i}" for i in range(8)]


def classifier_checkpoint(path: Path) -> Path:
    """What a probe run saves (``state_dict`` and ``classes``), for the demo's probe config."""
    torch.manual_seed(0)
    return save_untrained_classifier(path, CLASSES)


def small_video(path: Path, num_frames: int = 12, height: int = 48, width: int = 64, seed: int = 0) -> Path:
    """An MPEG-4 ``.avi`` of a bright square moving over noise."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 80, (num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        frames[t, 10:26, 2 + 3 * t : 18 + 3 * t] = 230
    write_video(path, frames, fps=25)
    return path


def fitted_scorer(folder: Path, scorer: dict, temporal_refiner: bool = False, frame_input: str = "rgb") -> Path:
    """What ``anomaly fit`` saves (``scorer.pt`` + ``scorer.yaml``) for ``scorer`` (class_path + init_args) fitted on
    two small random-init demo-encoder videos; ``temporal_refiner`` adds a causal conv refiner to the encoder, and
    the encoder reads ``frame_input`` frames."""
    import yaml
    from jsonargparse import ArgumentParser

    from videovision.anomaly.features import frame_features
    from videovision.anomaly.scorers import AnomalyScorer
    from videovision.config import compose
    from videovision.serving.anomaly import ServedScorer
    from videovision.tracking.features import load_encoder

    encoder_config = compose("demo/base/appearance_encoder.yaml")
    encoder_config["init_args"]["frame_input"] = frame_input
    if temporal_refiner:
        refiner = {"class_path": "videovision.models.TemporalConvRefiner", "init_args": {"kernel_size": 3}}
        encoder_config["init_args"]["temporal_refiner"] = refiner
    folder.mkdir(parents=True, exist_ok=True)
    encoder = load_encoder(encoder_config)
    checkpoint = encoder_checkpoint(encoder, folder / "encoder.ckpt", encoder_config)
    settings = {"encoder": encoder_config, "checkpoint": str(checkpoint), "scorer": scorer, "frame_size": 32}
    (folder / "scorer.yaml").write_text(yaml.safe_dump(settings))
    parser = ArgumentParser()
    parser.add_argument("--scorer", type=AnomalyScorer)
    fitted = parser.instantiate_classes(parser.parse_object({"scorer": scorer})).scorer
    torch.manual_seed(0)
    preprocess = ServedScorer.preprocess_for(32)
    train = []
    for seed in (1, 2):
        frames = np.stack([f for f in _square_frames(16, 32, 32, seed)])
        train.append(frame_features(encoder, preprocess(frames)))
    fitted.fit(encoder, train)
    torch.save(fitted.state_dict(), folder / "scorer.pt")
    return folder / "scorer.pt"


def _square_frames(num_frames: int, height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 80, (num_frames, height, width, 3), dtype=np.uint8)
    for t in range(num_frames):
        x = (2 * t) % (width - 8)
        frames[t, 8:16, x : x + 8] = 230
    return frames


NEXT_STEP = {
    "class_path": "videovision.anomaly.scorers.NextStepScorer",
    "init_args": {"stride": 2, "hidden": 16, "steps": 5, "holdout": 5},
}
KNN = {
    "class_path": "videovision.anomaly.scorers.KNNScorer",
    "init_args": {"k": 2, "clip_len": 4, "stride": 2, "hop": 2, "bank_hop": 2},
}


def rgb_encoder_checkpoint(path: Path) -> Path:
    """A checkpoint of the demo encoder on RGB frames (random weights) as a run saves it, run config included:
    what ``--track-ckpt`` takes (the demo classifier reads normal flow, which the box tracker cannot use)."""
    from videovision.config import compose
    from videovision.tracking.features import load_encoder

    config = compose("demo/base/appearance_encoder.yaml")
    return encoder_checkpoint(load_encoder(config, seed=1), path, config)


def encoder_checkpoint(encoder: torch.nn.Module, path: Path, config: dict | None = None) -> Path:
    """A checkpoint holding ``encoder``'s weights as a pretraining run saves them (``encoder.*``), and with its
    ``config`` (class_path + init_args), the run config's ``model.init_args.encoder`` as a run keeps it."""
    checkpoint: dict = {"state_dict": {f"encoder.{k}": v for k, v in encoder.state_dict().items()}}
    if config is not None:
        checkpoint["run_config"] = {"model": {"init_args": {"encoder": config}}}
    torch.save(checkpoint, path)
    return path
