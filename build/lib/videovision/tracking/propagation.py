"""Semi-supervised video object segmentation by label propagation through feature affinities.

The protocol of CRW's evaluation (Jabri et al., NeurIPS 2020; ajabri/videowalk ``code/test.py`` and
``utils/test_utils.py``), re-written here: for each target frame t, the context is the first frame (its given
labels) plus the previous ``context`` frames (their propagated soft labels). Affinity = dot product of
L2-normalised features / ``temperature``; keys in the recent frames further than ``radius`` cells from the query
are left out (the first frame is searched whole, as CRW's long memory); the ``topk`` best keys of the whole
context are kept, softmax-weighted, and their soft labels summed. Labels are upsampled bilinearly and argmaxed.
One difference: CRW pads the video with copies of the first frame so that early frames see ``context`` (identical)
recent frames; here they see the frames that exist, each once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class PropagationConfig:
    """CRW's DAVIS settings (field notes): 20 recent frames, radius 12 cells, top-10, temperature 0.05."""

    context: int = 20
    radius: float = 12.0
    topk: int = 10
    temperature: float = 0.05

    def __post_init__(self) -> None:
        if self.context < 0 or self.radius <= 0 or self.topk < 1 or self.temperature <= 0:
            raise ValueError(f"invalid propagation settings {self}: need context >= 0, radius > 0, topk >= 1, T > 0")


def radius_mask(height: int, width: int, radius: float) -> torch.Tensor:
    """(h*w, h*w) bool: cell pairs whose Euclidean distance is below ``radius`` (CRW's ``MaskedAttention``)."""
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    cells = torch.stack([ys.flatten(), xs.flatten()], dim=1).float()
    return torch.cdist(cells, cells) < radius


def propagate_labels(
    feats: torch.Tensor, first_labels: torch.Tensor, config: PropagationConfig = PropagationConfig()
) -> torch.Tensor:
    """Shapes: feats (T, C, h, w) L2-normalised; first_labels (L, h, w) soft labels of frame 0 ->
    (T, L, h, w) soft labels, frame 0 being ``first_labels``."""
    num_frames, channels, height, width = feats.shape
    if first_labels.shape[1:] != (height, width):
        raise ValueError(f"first_labels {tuple(first_labels.shape)} do not match the feature maps {(height, width)}")
    keys_all = feats.flatten(2).transpose(1, 2)  # (T, hw, C)
    near = radius_mask(height, width, config.radius)
    labels = [first_labels.flatten(1).T.float()]  # each (hw, L)
    for t in range(1, num_frames):
        recent = list(range(max(1, t - config.context), t))
        scores = [keys_all[t] @ keys_all[0].T]
        scores += [(keys_all[t] @ keys_all[s].T).masked_fill(~near, float("-inf")) for s in recent]
        affinity = torch.cat(scores, dim=1) / config.temperature  # (hw, M * hw)
        weights, index = affinity.topk(min(config.topk, affinity.shape[1]), dim=1)
        weights = weights.softmax(dim=1).nan_to_num(0.0)
        context_labels = torch.cat([labels[0], *(labels[s] for s in recent)])  # (M * hw, L)
        labels.append((weights[..., None] * context_labels[index]).sum(dim=1))
    return torch.stack(labels).transpose(1, 2).unflatten(2, (height, width))


def propagate_masks(
    feats: torch.Tensor, first_mask: np.ndarray, num_objects: int, config: PropagationConfig = PropagationConfig()
) -> np.ndarray:
    """(T, C, h, w) features and the first frame's (H, W) integer mask (0 background, 1..K) -> (T, H, W) uint8
    masks: one-hot labels area-averaged to (h, w), propagated, upsampled bilinearly to (H, W), argmaxed."""
    mask = torch.as_tensor(np.asarray(first_mask, dtype=np.int64))
    if mask.max() > num_objects:
        raise ValueError(f"first mask has label {int(mask.max())} but num_objects={num_objects}")
    one_hot = F.one_hot(mask, num_objects + 1).permute(2, 0, 1).float()
    small = F.adaptive_avg_pool2d(one_hot[None], feats.shape[-2:])[0]
    soft = propagate_labels(feats, small, config)
    full = F.interpolate(soft, size=mask.shape, mode="bilinear", align_corners=False)
    masks = full.argmax(dim=1).to(torch.uint8).numpy()
    masks[0] = mask.numpy()
    return masks
