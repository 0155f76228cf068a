"""Map-style dataset of clips that never stops on a bad video.

Each item decodes only the frames its sampler asks for, as uint8, in the DataLoader worker.
A video that fails to decode is logged once (path and reason), never drawn again by that
worker, and another video is drawn in its place, as PyTorchVideo does; the number of such
failures travels with the sample
(``failures``) so the LightningModule can count them per epoch across workers and processes.
"""

from __future__ import annotations

import functools
import logging

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate
from torchvision.transforms.v2 import functional as F

from .clip_samplers import ClipSampler
from .readers import VideoRecord
from .video_io import VideoDecodeError, VideoMeta, read_frames

log = logging.getLogger(__name__)


class ClipDataset(Dataset):
    """``dataset[i]`` -> ``{"clips": uint8 (K, T, 3, H, W), "label": int64, "index": int64, "failures": int64,
    "path": str}``.

    ``index`` and ``path`` are the video actually returned (after any replacement), so evaluation
    can average the views of one video and writers can name it.
    """

    def __init__(
        self,
        records: list[VideoRecord],
        metas: list[VideoMeta],
        sampler: ClipSampler,
        decode_size: tuple[int, int] | None = None,
        max_retries: int = 20,
    ) -> None:
        if len(records) != len(metas):
            raise ValueError("records and metas differ in length")
        if not records:
            raise ValueError("no decodable video in this split")
        self.records = records
        self.metas = metas
        self.sampler = sampler
        self.decode_size = decode_size
        self.max_retries = max_retries
        self._bad: set[int] = set()  # per worker: videos that failed here, never drawn again

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        failures = 0
        while index in self._bad or (frames := self._read(index, rng)) is None:
            failures += 1
            healthy = [i for i in range(len(self.records)) if i not in self._bad]
            if failures > self.max_retries or not healthy:
                raise RuntimeError(f"{failures} videos in a row failed to decode; see the warnings above")
            index = healthy[int(rng.integers(len(healthy)))]
        record = self.records[index]
        return {
            "clips": torch.from_numpy(frames).permute(0, 1, 4, 2, 3).contiguous(),
            "label": torch.tensor(record.label, dtype=torch.int64),
            "index": torch.tensor(index, dtype=torch.int64),
            "failures": torch.tensor(failures, dtype=torch.int64),
            "path": record.path,
        }

    def _read(self, index: int, rng: np.random.Generator) -> np.ndarray | None:
        """uint8 (K, T, H, W, 3) for video ``index``, or None (logged once) if it does not decode."""
        record, meta = self.records[index], self.metas[index]
        first, count = _frame_range(record, meta)
        try:
            return read_frames(record.path, first + self.sampler(count, meta.fps, rng), meta, self.decode_size)
        except VideoDecodeError as exc:
            self._bad.add(index)
            log.warning("skipping unreadable video: %s", exc)
            return None


def _frame_range(record: VideoRecord, meta: VideoMeta) -> tuple[int, int]:
    """First frame and frame count of the part of the video a record covers."""
    if record.span is None:
        return 0, meta.num_frames
    first = min(meta.num_frames - 1, max(0, int(record.span[0] * meta.fps)))
    last = min(meta.num_frames, max(first + 1, int(record.span[1] * meta.fps)))
    return first, last - first


def collate_clips(samples: list[dict]) -> dict:
    """``default_collate``, after bringing every sample's clips to the first sample's (H, W) when the
    batch mixes sizes (videos of different resolutions and no ``data.decode_size``): the same bilinear,
    antialiased resize as decoding uses. Logged once per worker."""
    height, width = samples[0]["clips"].shape[-2:]
    if any(s["clips"].shape[-2:] != (height, width) for s in samples):
        _warn_mixed_sizes(height, width)
        samples = [{**s, "clips": _resize_clips(s["clips"], (height, width))} for s in samples]
    return default_collate(samples)


def _resize_clips(clips: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """uint8 (K, T, 3, H, W) -> uint8 (K, T, 3, *size)."""
    return F.resize(clips.flatten(0, 1), list(size), antialias=True).unflatten(0, clips.shape[:2])


@functools.cache
def _warn_mixed_sizes(height: int, width: int) -> None:
    log.warning(
        "videos of different sizes in one batch: resized to %dx%d; set data.decode_size [H, W] to choose", height, width
    )
