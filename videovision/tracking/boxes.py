"""Single-object box tracking by template correlation over dense features, training-free.

The scheme of SiamFC (Bertinetto et al., ECCV-W 2016): the first frame's box gives a template; each next frame is
searched in a region around the previous box at a few scales; the response is the template's correlation with the
search features, blended with a cosine window (a prior against jumps), scales other than 1 are penalised, and the
size follows the best scale with a learning rate. Here there is no trained embedding: template and search are
RoI-aligned crops of the encoder's L2-normalised maps, so the response is a mean cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from torchvision.ops import roi_align


@dataclass(frozen=True)
class BoxTrackerConfig:
    """``search``: search region side / box side (odd); ``scales``: size factors tried; ``scale_penalty``: response
    factor for a scale other than 1; ``scale_lr``: how far the size moves to the best scale; ``window``: weight of
    the cosine window; ``upsample``: response upsampling for sub-cell peaks; ``max_cells``: template side cap."""

    search: int = 3
    scales: tuple[float, ...] = (0.95, 1.0, 1.05)
    scale_penalty: float = 0.97
    scale_lr: float = 0.5
    window: float = 0.2
    upsample: int = 4
    max_cells: int = 8

    def __post_init__(self) -> None:
        if self.search < 1 or self.search % 2 == 0:
            raise ValueError(f"search must be an odd number >= 1, got {self.search}")
        if not self.scales or min(self.scales) <= 0 or not 0 <= self.window <= 1 or self.upsample < 1:
            raise ValueError(f"invalid box tracker settings {self}")


def _crop(
    feats: torch.Tensor, centre: np.ndarray, size: np.ndarray, cells: tuple[int, int], stride: int
) -> torch.Tensor:
    """(C, h, w) maps -> (C, *cells) RoI-aligned crop of the pixel box centred at ``centre`` (x, y), ``size`` (w, h)."""
    x1, y1 = centre - size / 2
    x2, y2 = centre + size / 2
    box = torch.tensor([[0, x1, y1, x2, y2]], dtype=feats.dtype)
    return roi_align(feats[None], box, cells, spatial_scale=1 / stride, sampling_ratio=2, aligned=True)[0]


def _hann(height: int, width: int) -> torch.Tensor:
    rows, cols = (torch.hann_window(n + 2, periodic=False)[1:-1] for n in (height, width))
    return torch.outer(rows, cols)


class BoxTracker:
    """The tracker frame by frame: ``BoxTracker(first_feats, first_box, ...)`` takes the template from the first
    frame's L2-normalised maps (C, h, w) and box (x, y, w, h, 0-based px); :meth:`update` takes the next frame's maps
    and returns its box (4,). A live stream carries one of these; :func:`track_box` runs it over a whole video."""

    def __init__(
        self,
        first_feats: torch.Tensor,
        first_box: np.ndarray,
        stride: int,
        image_size: tuple[int, int],
        config: BoxTrackerConfig = BoxTrackerConfig(),
    ) -> None:
        box = np.asarray(first_box, dtype=np.float64)
        if box[2] <= 0 or box[3] <= 0:
            raise ValueError(f"first box {box.tolist()} must have a positive width and height")
        self.stride, self.image_size, self.config = stride, image_size, config
        self.centre, self.size = box[:2] + box[2:] / 2, box[2:].copy()
        self.cells = tuple(int(np.clip(round(s / stride), 1, config.max_cells)) for s in (self.size[1], self.size[0]))
        self.template = _crop(first_feats, self.centre, self.size, self.cells, stride)

    @property
    def box(self) -> np.ndarray:
        """The current box (4,) x, y, w, h."""
        return np.concatenate([self.centre - self.size / 2, self.size])

    def update(self, feats: torch.Tensor) -> np.ndarray:
        """The box (4,) in the frame of ``feats`` (C, h, w), searched around the previous one."""
        config, cells, stride = self.config, self.cells, self.stride
        area, k = cells[0] * cells[1], config.search
        best = None
        for scale in config.scales:
            region = _crop(feats, self.centre, self.size * scale * k, (cells[0] * k, cells[1] * k), stride)
            response = F.conv2d(region[None], self.template[None])[0, 0] / area
            if config.upsample > 1:
                rows, cols = response.shape
                up = ((rows - 1) * config.upsample + 1, (cols - 1) * config.upsample + 1)
                response = F.interpolate(response[None, None], up, mode="bilinear", align_corners=True)[0, 0]
            response = (1 - config.window) * response + config.window * _hann(*response.shape)
            peak = response.max().item() * (1.0 if scale == 1.0 else config.scale_penalty)
            if best is None or peak > best[0]:
                best = (peak, scale, divmod(int(response.argmax()), response.shape[1]), response.shape)
        _, scale, (row, col), (rows, cols) = best
        height, width = self.image_size
        cell_px = self.size * scale / np.array([cells[1], cells[0]])
        shift = np.array([col - (cols - 1) / 2, row - (rows - 1) / 2]) / config.upsample
        self.centre = np.clip(self.centre + shift * cell_px, 0, [width - 1, height - 1])
        self.size = np.clip(self.size * (1 - config.scale_lr + config.scale_lr * scale), 4, [width, height])
        return self.box


def track_box(
    feats: torch.Tensor,
    first_box: np.ndarray,
    stride: int,
    image_size: tuple[int, int],
    config: BoxTrackerConfig = BoxTrackerConfig(),
) -> np.ndarray:
    """Shapes: feats (T, C, h, w) L2-normalised maps at ``stride`` px per cell; first_box (4,) x, y, w, h
    (0-based px); image_size (H, W) -> (T, 4) x, y, w, h boxes, row 0 = ``first_box``."""
    tracker = BoxTracker(feats[0], first_box, stride, image_size, config)
    return np.stack([np.asarray(first_box, dtype=np.float64), *(tracker.update(f) for f in feats[1:])])
