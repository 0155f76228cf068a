"""VideoVision's data layer: dataset readers, clip samplers, decoding and the LightningDataModule."""

from .clip_samplers import ClipSampler, PairClipSampler, RandomClipSampler, TupleClipSampler, UniformClipSampler
from .moving_digits import MovingDigits
from .readers import UCF101, DatasetReader, VideoRecord
from .transforms import ClipTransform, EvalTransform, TrainAugmentation
from .video_datamodule import VideoDataModule

__all__ = [
    "UCF101",
    "ClipSampler",
    "ClipTransform",
    "DatasetReader",
    "EvalTransform",
    "MovingDigits",
    "PairClipSampler",
    "RandomClipSampler",
    "TrainAugmentation",
    "TupleClipSampler",
    "UniformClipSampler",
    "VideoDataModule",
    "VideoRecord",
]
