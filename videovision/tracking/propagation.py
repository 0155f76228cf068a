"""Semi-supervised video object segmentation by label propagation through feature affinities.

The protocol of CRW's evaluation (Jabri et al., NeurIPS 2020; ajabri/videowalk ``code/test.py`` and
``utils/test_utils.py``), re-written here: for each target frame t, the context is the first frame (its given
labels) plus the previous ``context`` frames (their propagated soft labels). Affinity = dot product of
L2-normalised features / ``temperature``; keys in the recent frames further than ``radius`` cells from the query
are left out (the first frame is searched whole, as CRW's long memory); the ``topk`` best keys of the whole
context are kept, softmax-weighted, and their soft labels summed. Labels are upsampled bilinearly and argmaxed.
As CRW, the video is padded at the start with copies of the first frame, so every target sees ``1 + context``
frames (:func:`context_indices`), and the affinities are all computed before the labels are propagated.
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


def context_indices(num_frames: int, context: int) -> torch.Tensor:
    """(T - 1, 1 + context) long: for each target frame t = 1..T-1, the frames its labels come from: the first frame
    (long-term memory), then the ``context`` frames before t, those before the start being the first frame again.
    This is CRW's padding (``code/data/vos.py`` repeats frame 0 ``videoLen`` times before the video; ``code/utils/
    test_utils.py context_index_bank``): early frames see as many recent frames as late ones, copies of frame 0
    with its given labels, so its best matches count several times among the top-k."""
    targets = torch.arange(1, num_frames)[:, None]
    recent = (targets + torch.arange(-context, 0)[None]).clamp(min=0)
    return torch.cat([torch.zeros(num_frames - 1, 1, dtype=torch.long), recent], dim=1)


def affinity_topk(
    feats: torch.Tensor, config: PropagationConfig, max_elements: int = 2**24
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every target frame's top-k keys in its context, computed before any label moves (they depend on features
    only), in blocks of queries of at most ``max_elements`` scores (CRW's ``mem_efficient_batched_affinity`` does
    the same for memory). Shapes: feats (T, C, h, w) -> context (T - 1, M) frame indices, weights (T - 1, hw, k)
    softmax weights, index (T - 1, hw, k) positions in the context's M * hw keys."""
    num_frames, _, height, width = feats.shape
    cells = feats.flatten(2).transpose(1, 2)  # (T, hw, C)
    context = context_indices(num_frames, config.context)
    keys_per_query = context.shape[1] * height * width
    # The radius applies to the recent frames, not to the first frame (CRW's long-term memory is searched whole).
    far = ~radius_mask(height, width, config.radius)
    block = max(1, max_elements // keys_per_query)
    topk = min(config.topk, keys_per_query)
    weights = torch.empty(num_frames - 1, height * width, topk)
    index = torch.empty(num_frames - 1, height * width, topk, dtype=torch.long)
    for t in range(1, num_frames):
        keys = cells[context[t - 1]]  # (M, hw, C)
        for q in range(0, height * width, block):
            scores = torch.einsum("qc,mkc->qmk", cells[t, q : q + block], keys)
            scores[:, 1:].masked_fill_(far[q : q + block, None], -1e10)
            top, where = (scores.flatten(1) / config.temperature).topk(topk, dim=-1)
            weights[t - 1, q : q + block], index[t - 1, q : q + block] = top.softmax(dim=-1), where
    return context, weights, index


def propagate_labels(
    feats: torch.Tensor, first_labels: torch.Tensor, config: PropagationConfig = PropagationConfig()
) -> torch.Tensor:
    """Shapes: feats (T, C, h, w) L2-normalised; first_labels (L, h, w) soft labels of frame 0 ->
    (T, L, h, w) soft labels, frame 0 being ``first_labels``."""
    num_frames, _, height, width = feats.shape
    if first_labels.shape[1:] != (height, width):
        raise ValueError(f"first_labels {tuple(first_labels.shape)} do not match the feature maps {(height, width)}")
    labels = torch.empty(num_frames, height * width, first_labels.shape[0])
    labels[0] = first_labels.flatten(1).T.float()
    if num_frames > 1:
        context, weights, index = affinity_topk(feats, config)
        for t in range(1, num_frames):
            context_labels = labels[context[t - 1]].flatten(0, 1)  # (M * hw, L)
            labels[t] = (weights[t - 1, ..., None] * context_labels[index[t - 1]]).sum(dim=1)
    return labels.transpose(1, 2).unflatten(2, (height, width))


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
