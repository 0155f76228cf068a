"""VideoVision's data layer: dataset readers, clip samplers, decoding and the LightningDataModule."""

from .clip_samplers import ClipSampler, PairClipSampler, RandomClipSampler, TupleClipSampler, UniformClipSampler
from .moving_digits import MovingDigits
from .readers import UCF101, DatasetReader, VideoRecord
from .tracking_readers import OTB, Davis2017, MOTChallenge
from .transforms import ClipTransform, EvalTransform, TrainAugmentation
from .video_datamodule import VideoDataModule

__all__ = [
    "OTB",
    "UCF101",
    "ClipSampler",
    "ClipTransform",
    "DatasetReader",
    "Davis2017",
    "EvalTransform",
    "MOTChallenge",
    "MovingDigits",
    "PairClipSampler",
    "RandomClipSampler",
    "TrainAugmentation",
    "TupleClipSampler",
    "UniformClipSampler",
    "VideoDataModule",
    "VideoRecord",
]
