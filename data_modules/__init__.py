"""VideoVision's data layer: dataset readers, clip samplers, decoding and the LightningDataModule.

Every class a config may name by ``class_path`` is exported here (``data_modules.VideoFolder``, ...).
"""

from .clip_samplers import ClipSampler, PairClipSampler, RandomClipSampler, TupleClipSampler, UniformClipSampler
from .heldout_sets import OpenCVFootage, OpenCVPhotos
from .moving_digits import MovingDigits
from .readers import (
    HMDB51,
    UCF101,
    DatasetReader,
    Kinetics,
    Manifest,
    MissingSplitError,
    VideoFolder,
    VideoRecord,
)
from .tracking_readers import OTB, Davis2017, MOTChallenge
from .transforms import ClipTransform, EvalTransform, TrainAugmentation
from .video_datamodule import VideoDataModule

__all__ = [
    "HMDB51",
    "OTB",
    "UCF101",
    "ClipSampler",
    "ClipTransform",
    "DatasetReader",
    "Davis2017",
    "EvalTransform",
    "Kinetics",
    "Manifest",
    "MissingSplitError",
    "MOTChallenge",
    "MovingDigits",
    "OpenCVFootage",
    "OpenCVPhotos",
    "PairClipSampler",
    "RandomClipSampler",
    "TrainAugmentation",
    "TupleClipSampler",
    "UniformClipSampler",
    "VideoDataModule",
    "VideoFolder",
    "VideoRecord",
]
