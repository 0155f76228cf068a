"""Clip transforms that run on the device, in ``on_after_batch_transfer``.

Input is the uint8 batch from the loader, ``(B, K, T, 3, H, W)``; output is normalised float
``(B, K', T, 3, h, w)``. torchvision.transforms.v2 draws one set of random parameters for a
whole ``tv_tensors.Video`` (T, C, H, W), so every frame of a clip gets the same crop, flip and
colour change (temporally consistent augmentation, CVRL), while each clip gets its own draw.
With ``same_for_all_clips`` the K clips of a sample share one draw (VCOP tuples: the order
task must not be solvable from crop offsets).
"""

from __future__ import annotations

from typing import Literal

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


class ClipTransform:
    """Base: per-clip v2 pipeline on uint8, then float conversion and normalisation for the batch."""

    def __init__(
        self, mean: tuple[float, float, float] = KINETICS_MEAN, std: tuple[float, float, float] = KINETICS_STD
    ):
        self.mean = torch.tensor(mean).view(1, 1, 1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 1, 1, 3, 1, 1)

    def per_sample(self, clips: torch.Tensor) -> torch.Tensor:
        """uint8 (K, T, 3, H, W) -> uint8 (K', T, 3, h, w)."""
        raise NotImplementedError

    @property
    def auto_size(self) -> bool:
        """Whether a size was given as ``"auto"`` (the data module sets it with :meth:`resolve_size`)."""
        return False

    def resolve_size(self, size: int) -> None:
        """Set every size given as ``"auto"`` to ``size`` px (recipe.py's rule); explicit sizes stay."""

    def __call__(self, clips: torch.Tensor) -> torch.Tensor:
        out = torch.stack([self.per_sample(sample) for sample in clips])
        out = out.float().div_(255)
        if self.mean.device != out.device:  # moved once: a blocking copy to the GPU per batch waits for it
            self.mean, self.std = self.mean.to(out.device), self.std.to(out.device)
        return out.sub_(self.mean).div_(self.std)


class TrainAugmentation(ClipTransform):
    """Random resized crop, flip, colour jitter, grayscale and blur; one draw per clip.

    ``hflip`` is a probability: set it to 0 where left and right are classes (moving digits).
    ``crop_size: auto`` is sized from the training videos (recipe.py) when the data module sets up.
    """

    def __init__(
        self,
        crop_size: int | Literal["auto"] = 112,
        crop_scale: tuple[float, float] = (0.3, 1.0),
        crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
        hflip: float = 0.5,
        color_jitter: float = 0.8,
        jitter_strength: float = 0.5,
        grayscale: float = 0.2,
        blur: float = 0.0,
        same_for_all_clips: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if crop_size != "auto" and not isinstance(crop_size, int):
            raise ValueError(f"crop_size must be an int or 'auto', got {crop_size!r}")
        self.same_for_all_clips = same_for_all_clips
        self._options = dict(crop_scale=crop_scale, crop_ratio=crop_ratio, hflip=hflip, color_jitter=color_jitter,
                             jitter_strength=jitter_strength, grayscale=grayscale, blur=blur)  # fmt: skip
        self.crop_size, self._auto = crop_size, crop_size == "auto"
        self.pipeline = None if self._auto else self._pipeline(crop_size, **self._options)

    @staticmethod
    def _pipeline(crop_size, crop_scale, crop_ratio, hflip, color_jitter, jitter_strength, grayscale, blur):
        s = jitter_strength
        return v2.Compose(
            [
                v2.RandomResizedCrop(crop_size, scale=crop_scale, ratio=crop_ratio, antialias=True),
                v2.RandomHorizontalFlip(hflip),
                v2.RandomApply([v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)], p=color_jitter),
                v2.RandomGrayscale(grayscale),
                v2.RandomApply(
                    [v2.GaussianBlur(kernel_size=max(3, crop_size // 10 * 2 + 1), sigma=(0.1, 2.0))], p=blur
                ),
            ]
        )

    @property
    def auto_size(self) -> bool:
        return self._auto

    def resolve_size(self, size: int) -> None:
        if self._auto:
            self.crop_size = size
            self.pipeline = self._pipeline(size, **self._options)

    def per_sample(self, clips: torch.Tensor) -> torch.Tensor:
        if self.pipeline is None:
            raise RuntimeError("crop_size is 'auto' and was never resolved: the data module sizes it at setup")
        k, t = clips.shape[:2]
        if self.same_for_all_clips:
            out = self.pipeline(tv_tensors.Video(clips.flatten(0, 1)))
            return out.reshape(k, t, *out.shape[1:])
        return torch.stack([self.pipeline(tv_tensors.Video(clip)) for clip in clips])


class EvalTransform(ClipTransform):
    """Resize the short side to ``resize``, then a centre crop, or 3 crops along the long side.

    With ``num_crops=3`` every clip becomes three views, so K' = 3K (the Kinetics protocol).
    ``auto`` sizes come from the training videos (recipe.py) when the data module sets up.
    """

    def __init__(
        self,
        resize: int | Literal["auto"] = 128,
        crop_size: int | Literal["auto"] = 112,
        num_crops: int = 1,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if num_crops not in (1, 3):
            raise ValueError(f"num_crops must be 1 or 3, got {num_crops}")
        for name, value in (("resize", resize), ("crop_size", crop_size)):
            if value != "auto" and not isinstance(value, int):
                raise ValueError(f"{name} must be an int or 'auto', got {value!r}")
        self.resize = None if resize == "auto" else v2.Resize(resize, antialias=True)
        self.crop_size = crop_size
        self._auto = (resize == "auto", crop_size == "auto")
        self.num_crops = num_crops

    @property
    def auto_size(self) -> bool:
        return any(self._auto)

    def resolve_size(self, size: int) -> None:
        self.resize = v2.Resize(size, antialias=True) if self._auto[0] else self.resize
        self.crop_size = size if self._auto[1] else self.crop_size

    def per_sample(self, clips: torch.Tensor) -> torch.Tensor:
        if self.resize is None or self.crop_size == "auto":
            raise RuntimeError("a size is 'auto' and was never resolved: the data module sizes it at setup")
        k, t = clips.shape[:2]
        video = self.resize(tv_tensors.Video(clips.flatten(0, 1)))
        h, w = video.shape[-2:]
        c = self.crop_size
        if self.num_crops == 1:
            offsets = [((h - c) // 2, (w - c) // 2)]
        elif w >= h:
            offsets = [((h - c) // 2, x) for x in (0, (w - c) // 2, w - c)]
        else:
            offsets = [(y, (w - c) // 2) for y in (0, (h - c) // 2, h - c)]
        crops = [video[..., y : y + c, x : x + c] for y, x in offsets]
        return torch.stack(crops).reshape(len(crops) * k, t, 3, c, c)
