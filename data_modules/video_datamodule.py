"""The LightningDataModule every experiment uses: any reader, any clip sampler, transforms on the device."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

import torch
from lightning.pytorch import LightningDataModule
from lightning.pytorch.utilities import rank_zero_info
from torch.utils.data import DataLoader

from .clip_dataset import ClipDataset, collate_clips
from .clip_samplers import ClipSampler, UniformClipSampler
from .metadata import probe_videos
from .readers import DatasetReader, MissingSplitError, Split, VideoRecord, holdout_split
from .recipe import auto_frame_size
from .subsets import few_labels
from .transforms import ClipTransform, EvalTransform, TrainAugmentation

log = logging.getLogger(__name__)
SHORT_VIDEO_RULES = {
    "shrink": "their frame step is lowered until a sample fits (padded with the last frame if a step of 1 does not)",
    "pad": "their last frame is repeated",
    "loop": "they wrap around to their first frame",
    "skip": "they are left out",
}


def bad_fraction_error(bad: int, total: int, max_bad_fraction: float, what: str) -> str | None:
    """Why a split with ``bad`` of ``total`` videos undecodable is refused (above ``max_bad_fraction``), naming
    the option that changes it; None when it is within the limit."""
    if bad <= max_bad_fraction * total:
        return None
    return (
        f"{what}: {bad} of {total} videos do not decode, above data.max_bad_fraction={max_bad_fraction}. "
        f"Fix or remove them, or skip them by raising the limit "
        f"(--data.init_args.max_bad_fraction {min(1.0, round(bad / total + 0.05, 2))})"
    )


class VideoDataModule(LightningDataModule):
    """Clips from a :class:`DatasetReader`, decoded in workers, augmented on the device.

    The training sampler decides the mode: one clip (supervised), two clips
    (:class:`PairClipSampler`, SimCLR/CVRL) or an ordered tuple (:class:`TupleClipSampler`, VCOP).
    Validation and test use ``eval_sampler`` (default: 10 uniform clips) and ``eval_transform``;
    so does ``predict``, over every video of ``predict_split`` (no few-label subset), for
    extracting embeddings of a gallery (train) and queries (test).
    Every video is probed once (real length, fps, backend) in ``prepare_data``; unreadable ones
    are reported and skipped, and more than ``max_bad_fraction`` of them fails before training.

    ``frames_dir``: read JPEG frame folders made by ``videovision extract-frames`` instead of the
    videos, keeping the reader and its split files: ``<dataset root>/a/b.avi`` is read from
    ``<frames_dir>/a/b/``.

    ``val_fraction``: validate on a seeded part of the training videos (by group, ``subset_seed``)
    instead of the reader's ``val`` split (UCF101's is its test list), e.g. for early stopping.
    A transform size ``auto`` is resolved at setup from the training videos' median short side
    (recipe.py) and logged, unless ``frame_size`` gives it (what a checkpoint's run resolved it to).
    """

    def __init__(
        self,
        reader: DatasetReader,
        train_sampler: ClipSampler,
        eval_sampler: ClipSampler | None = None,
        train_transform: ClipTransform | None = None,
        eval_transform: ClipTransform | None = None,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        num_workers: int = 2,
        decode_size: tuple[int, int] | None = None,
        label_fraction: float = 1.0,
        samples_per_class: int | None = None,
        subset_seed: int = 0,
        max_bad_fraction: float = 0.05,
        cache_dir: str | None = None,
        predict_split: Split = "test",
        frames_dir: str | None = None,
        val_fraction: float | None = None,
        frame_size: int | None = None,
    ) -> None:
        super().__init__()
        self.reader = reader
        self.train_sampler = train_sampler
        self.eval_sampler = eval_sampler or UniformClipSampler(
            num_clips=10,
            clip_len=train_sampler.clip_len,
            stride=train_sampler.stride,
            target_fps=train_sampler.target_fps,
        )
        self.train_transform = train_transform or TrainAugmentation()
        self.eval_transform = eval_transform or EvalTransform()
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.decode_size = decode_size
        self.label_fraction = label_fraction
        self.samples_per_class = samples_per_class
        self.subset_seed = subset_seed
        self.max_bad_fraction = max_bad_fraction
        self.cache_dir = Path(cache_dir) if cache_dir else Path.home() / ".cache" / "videovision"
        self.predict_split: Split = predict_split
        self.frames_dir = Path(frames_dir) if frames_dir else None
        self.val_fraction = val_fraction
        self.frame_size: int | None = None  # what 'auto' transform sizes resolved to (kept in checkpoints)
        if frame_size is not None:
            self.load_state_dict({"frame_size": frame_size})
        self.datasets: dict[str, ClipDataset] = {}
        self.skipped: dict[Split, dict[str, str]] = {}

    @property
    def classes(self) -> list[str]:
        return self.reader.classes

    @property
    def cache_file(self) -> Path:
        root = self.frames_dir or self.reader.root
        key = hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:16]
        return self.cache_dir / f"meta-{key}.jsonl"

    def records(self, split: Split) -> list[VideoRecord]:
        """Every video of ``split`` (no few-label subset), read from ``frames_dir`` when it is set."""
        if self.val_fraction is not None and split in ("train", "val"):
            records = holdout_split(self.reader.records("train"), split, self.val_fraction, self.subset_seed)
        else:
            records = self.reader.records(split)
        if self.frames_dir is None:
            return records
        root = self.reader.root
        outside = [r.path for r in records if not Path(r.path).is_relative_to(root)]
        if outside:
            raise ValueError(
                f"data.frames_dir maps videos below the dataset root {root}, but {outside[0]} is not below it"
            )
        return [replace(r, path=str(self.frames_dir / Path(r.path).relative_to(root).with_suffix(""))) for r in records]

    def _records(self, split: Split, subset: bool) -> list[VideoRecord]:
        records = self.records(split)
        if split == "train" and subset:
            records = few_labels(records, self.label_fraction, self.samples_per_class, self.subset_seed)
        return records

    def prepare_data(self) -> None:
        self.reader.prepare()
        paths = {r.path for r in self.records("train")}
        try:
            paths |= {r.path for r in self.records("test")}
        except MissingSplitError as exc:
            log.info("no test split to probe: %s", exc)
        probe_videos(sorted(paths), self.cache_file, num_workers=min(self.num_workers, 8))

    def _build(self, split: Split, sampler: ClipSampler, stage: str, subset: bool = True) -> ClipDataset:
        records = self._records(split, subset)
        metas = probe_videos([r.path for r in records], self.cache_file)
        good = [(r, metas[r.path]) for r in records if not isinstance(metas[r.path], str)]
        bad = {r.path: metas[r.path] for r in records if isinstance(metas[r.path], str)}
        self.skipped[split] = bad
        if bad:
            named = "; ".join(list(bad.values())[:3]) + ("; ..." if len(bad) > 3 else "")
            log.warning(
                "%s (%s split): skipping %d of %d videos that do not decode (check-data lists them all): %s",
                stage,
                split,
                len(bad),
                len(records),
                named,
            )
            if error := bad_fraction_error(len(bad), len(records), self.max_bad_fraction, f"{stage} ({split} split)"):
                raise RuntimeError(error + ":\n  " + "\n  ".join(bad.values()))
        short = [(r, m) for r, m in good if not sampler.fits(m.num_frames, m.fps)]
        if short:
            need = max(sampler.frames_needed(sampler.step(m.fps)) for _, m in short)
            log.warning(
                "%s (%s split): %d of %d videos are shorter than the %d frames a sample of %s spans; "
                "short_video=%r: %s",
                stage,
                split,
                len(short),
                len(good),
                need,
                type(sampler).__name__,
                sampler.short_video,
                SHORT_VIDEO_RULES[sampler.short_video],
            )
            if sampler.short_video == "skip":
                good = [(r, m) for r, m in good if sampler.fits(m.num_frames, m.fps)]
        return ClipDataset([r for r, _ in good], [m for _, m in good], sampler, self.decode_size)

    def _resolve_sizes(self) -> None:
        """Size every ``auto`` transform from the training videos (recipe.py), the same for every stage."""
        if self.frame_size is not None or not (self.train_transform.auto_size or self.eval_transform.auto_size):
            return
        try:
            records = self.records("train")
        except MissingSplitError:
            records = self.records(self.predict_split)
        size, sized_from = auto_frame_size([r.path for r in records], self.cache_file)
        rank_zero_info(f"{sized_from}. Set the transforms' crop_size/resize to override.")
        self.load_state_dict({"frame_size": size})

    def state_dict(self) -> dict:
        """The resolved ``auto`` frame size: a checkpoint's later runs (classify, serve) reuse it."""
        return {"frame_size": self.frame_size} if self.frame_size is not None else {}

    def load_state_dict(self, state_dict: dict) -> None:
        if state_dict.get("frame_size") is not None:
            self.frame_size = int(state_dict["frame_size"])
            self.train_transform.resolve_size(self.frame_size)
            self.eval_transform.resolve_size(self.frame_size)

    def setup(self, stage: str) -> None:
        stage = str(getattr(stage, "value", stage))  # Lightning passes TrainerFn, which prints as TrainerFn.FITTING
        self._resolve_sizes()
        if stage == "fit":
            self.datasets["train"] = self._build("train", self.train_sampler, stage)
        if stage in ("fit", "validate"):
            try:
                self.datasets["val"] = self._build("val", self.eval_sampler, stage)
            except MissingSplitError as exc:
                if stage == "validate":
                    raise
                log.warning("validation is skipped: %s", exc)
        if stage == "test":
            self.datasets["test"] = self._build("test", self.eval_sampler, stage)
        if stage == "predict":
            self.datasets["predict"] = self._build(self.predict_split, self.eval_sampler, stage, subset=False)

    def _loader(self, split: str, train: bool) -> DataLoader:
        dataset = self.datasets[split]
        return DataLoader(
            dataset,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            drop_last=train and len(dataset) > self.batch_size,  # a few-label subset smaller than a batch still trains
            num_workers=self.num_workers,
            collate_fn=collate_clips,
            persistent_workers=self.num_workers > 0,
            pin_memory=torch.cuda.is_available(),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", train=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", train=False) if "val" in self.datasets else []

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("predict", train=False)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        training = self.trainer is not None and self.trainer.training
        transform = self.train_transform if training else self.eval_transform
        return {**batch, "clips": transform(batch["clips"])}
