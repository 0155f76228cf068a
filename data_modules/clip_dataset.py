"""Map-style dataset of clips that never stops on a bad video.

Each item decodes only the frames its sampler asks for, as uint8, in the DataLoader worker.
A video that fails to decode is logged once (path and reason) and another video is drawn in
its place, as PyTorchVideo does; the number of such failures travels with the sample
(``failures``) so the LightningModule can count them per epoch across workers and processes.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch.utils.data import Dataset

from .clip_samplers import ClipSampler
from .readers import VideoRecord
from .video_io import VideoDecodeError, VideoMeta, read_frames

log = logging.getLogger(__name__)


class ClipDataset(Dataset):
    """``dataset[i]`` -> ``{"clips": uint8 (K, T, 3, H, W), "label": int64, "index": int64, "failures": int64}``.

    ``index`` is the video actually returned (after any replacement), so evaluation can average
    the views of one video.
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
        self._reported: set[str] = set()

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
        failures = 0
        while True:
            record, meta = self.records[index], self.metas[index]
            try:
                indices = self.sampler(meta.num_frames, meta.fps, rng)
                frames = read_frames(record.path, indices, meta, self.decode_size)
                break
            except VideoDecodeError as exc:
                failures += 1
                if record.path not in self._reported:
                    self._reported.add(record.path)
                    log.warning("skipping unreadable video: %s", exc)
                if failures > self.max_retries:
                    raise RuntimeError(f"{failures} videos in a row failed to decode; last: {exc}") from exc
                index = int(rng.integers(len(self.records)))
        return {
            "clips": torch.from_numpy(frames).permute(0, 1, 4, 2, 3).contiguous(),
            "label": torch.tensor(record.label, dtype=torch.int64),
            "index": torch.tensor(index, dtype=torch.int64),
            "failures": torch.tensor(failures, dtype=torch.int64),
        }
