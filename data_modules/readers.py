"""Dataset readers: turn a dataset as it lies on disk into lists of :class:`VideoRecord`.

A reader only parses layouts and split files; it never opens a video. Missing or broken
files are found later by the metadata probe (:mod:`data_modules.metadata`), counted and skipped.
"""

from __future__ import annotations

import logging
import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

log = logging.getLogger(__name__)

Split = Literal["train", "val", "test"]
UNLABELLED = -1


@dataclass(frozen=True)
class VideoRecord:
    """One video: its path, 0-based label (``UNLABELLED`` = -1), source group (or ``""``) and
    optionally the span ``(start_sec, end_sec)`` of the video that the sample covers."""

    path: str
    label: int = UNLABELLED
    group: str = ""
    span: tuple[float, float] | None = None


class MissingSplitError(LookupError):
    """A split the dataset does not have; the message names the split, the reader and the fixes."""


def holdout_split(records: list[VideoRecord], split: Split, fraction: float, seed: int) -> list[VideoRecord]:
    """A seeded hold-out by group: ``train`` keeps the other groups; ``val`` and ``test`` both get the
    held-out ones (``ceil(fraction * groups)``, at least 1). A record's group is its ``group`` or its path,
    so clips of one source never fall on both sides."""
    if not 0 < fraction < 1:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {fraction}")
    groups = sorted({r.group or r.path for r in records})
    if len(groups) < 2:
        raise MissingSplitError(f"holding out {fraction:.0%} needs at least 2 groups of videos, found {len(groups)}")
    order = np.random.default_rng(seed).permutation(len(groups))
    held = {groups[i] for i in order[: max(1, math.ceil(fraction * len(groups)))]}
    keep = [r for r in records if ((r.group or r.path) in held) == (split != "train")]
    log.info(
        "%s split: %d of %d videos, a seeded %.0f%% hold-out by group", split, len(keep), len(records), 100 * fraction
    )
    return keep


def _missing(reader: str, split: Split, where: str) -> MissingSplitError:
    return MissingSplitError(
        f"{reader} has no {split!r} split ({where}). Add one, or hold out a seeded part of the training videos "
        f"by group: --data.init_args.reader.init_args.holdout_fraction 0.2. The training videos are never "
        f"used in its place."
    )


class DatasetReader(ABC):
    """Base class of every dataset layout."""

    @property
    @abstractmethod
    def classes(self) -> list[str]:
        """Class names, index = label."""

    @abstractmethod
    def records(self, split: Split) -> list[VideoRecord]:
        """The videos of ``split``."""

    def prepare(self) -> None:
        """Make the data where the reader can (the embedded dataset); by default nothing."""

    @property
    def root(self) -> Path:
        """Folder the metadata cache is keyed by."""
        return Path(self._root)


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        raise FileNotFoundError(f"split file not found: {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


_UCF_GROUP = re.compile(r"_g(\d+)_c\d+")


class UCF101(DatasetReader):
    """UCF101 in its official layout (also the embedded moving-digits set).

    ``root/videos_dir/<Class>/v_<Class>_gXX_cYY.avi`` and ``root/lists_dir/{classInd.txt,
    trainlist0{split}.txt, testlist0{split}.txt}``. ``classInd`` and train lists are 1-based;
    test lists carry no label, which comes from the class folder. UCF101 has no validation
    list: ``val`` is the test list, as the papers evaluate.
    """

    def __init__(
        self, root: str, split: int = 1, videos_dir: str = "UCF-101", lists_dir: str = "ucfTrainTestlist"
    ) -> None:
        if split not in (1, 2, 3):
            raise ValueError(f"UCF101 split must be 1, 2 or 3, got {split}")
        self._root = Path(root)
        self.split = split
        self.videos = self._root / videos_dir
        self.lists = self._root / lists_dir
        self._classes: list[str] | None = None

    @property
    def classes(self) -> list[str]:
        if self._classes is None:
            pairs = [line.split(maxsplit=1) for line in _read_lines(self.lists / "classInd.txt")]
            self._classes = [name for _, name in sorted(pairs, key=lambda p: int(p[0]))]
        return self._classes

    def records(self, split: Split) -> list[VideoRecord]:
        name = "trainlist" if split == "train" else "testlist"
        index = {c: i for i, c in enumerate(self.classes)}
        out = []
        for line in _read_lines(self.lists / f"{name}0{self.split}.txt"):
            rel = line.split()[0]
            cls = rel.split("/")[0]
            if cls not in index:
                raise ValueError(f"{self.lists / name}: class {cls!r} of {rel} is not in classInd.txt")
            group = _UCF_GROUP.search(rel)
            out.append(VideoRecord(str(self.videos / rel), index[cls], f"{cls}_g{group.group(1)}" if group else ""))
        return out


class HMDB51(DatasetReader):
    """HMDB51 in its official layout: ``root/videos_dir/<action>/<name>.avi`` and
    ``root/splits_dir/<action>_test_split{1,2,3}.txt`` with lines ``<name>.avi <id>``
    (1 = train, 2 = test, 0 = unused). HMDB51 has no validation list: ``val`` is the test list.
    ``videos_dir`` None: ``root/videos`` when that folder exists (MMAction2's layout), else root itself, where the
    unpacked ``<action>/`` folders lie beside the split folder.
    """

    def __init__(
        self,
        root: str,
        split: int = 1,
        videos_dir: str | None = None,
        splits_dir: str = "testTrainMulti_7030_splits",
    ) -> None:
        if split not in (1, 2, 3):
            raise ValueError(f"HMDB51 split must be 1, 2 or 3, got {split}")
        self._root = Path(root)
        self.split = split
        if videos_dir is None:
            videos_dir = "videos" if (self._root / "videos").is_dir() else "."
        self.videos = self._root / videos_dir
        self.splits = self._root / splits_dir
        self._classes: list[str] | None = None

    @property
    def classes(self) -> list[str]:
        if self._classes is None:
            suffix = f"_test_split{self.split}.txt"
            names = sorted(p.name[: -len(suffix)] for p in self.splits.glob(f"*{suffix}"))
            if not names:
                raise FileNotFoundError(f"no *{suffix} files in {self.splits}")
            self._classes = names
        return self._classes

    def records(self, split: Split) -> list[VideoRecord]:
        wanted = "1" if split == "train" else "2"
        out = []
        for label, action in enumerate(self.classes):
            for line in _read_lines(self.splits / f"{action}_test_split{self.split}.txt"):
                name, flag = line.split()
                if flag == wanted:
                    out.append(VideoRecord(str(self.videos / action / name), label))
        return out


class Kinetics(DatasetReader):
    """Kinetics-400/600/700 from the official CSVs (``label,youtube_id,time_start,time_end,split``).

    Videos ``{youtube_id}_{time_start:06d}_{time_end:06d}<ext>`` lie in ``root/<split>/<label>/`` (or
    ``<label_with_underscores>/``, as MMAction2's rename script leaves them) or flat in ``root/<split>/``; all are
    looked up. Rows whose file is missing (deleted YouTube videos) are counted in :attr:`missing`, logged and dropped,
    never fatal. Classes are the
    sorted labels of the training CSV. ``val`` reads ``validate.csv``.
    """

    def __init__(self, root: str, annotations: str | None = None, ext: str = ".mp4") -> None:
        self._root = Path(root)
        self.annotations = Path(annotations) if annotations else self._root / "annotations"
        self.ext = ext
        self.missing: dict[Split, int] = {}
        self._classes: list[str] | None = None

    def _csv(self, split: Split) -> Path:
        """The annotation CSV of ``split`` (``val`` reads ``validate.csv``)."""
        name = {"train": "train", "val": "validate", "test": "test"}[split]
        return self.annotations / f"{name}.csv"

    def _rows(self, split: Split) -> list[dict[str, str]]:
        import csv

        path = self._csv(split)
        if not path.exists():
            raise FileNotFoundError(f"Kinetics annotation file not found: {path}")
        with path.open(newline="") as f:
            return list(csv.DictReader(f))

    @property
    def classes(self) -> list[str]:
        if self._classes is None:
            self._classes = sorted({row["label"] for row in self._rows("train")})
        return self._classes

    def records(self, split: Split) -> list[VideoRecord]:
        folder = self._root / {"train": "train", "val": "val", "test": "test"}[split]
        index = {c: i for i, c in enumerate(self.classes)}
        out, missing = [], 0
        for row in self._rows(split):
            stem = (
                f"{row['youtube_id']}_{int(float(row['time_start'])):06d}_{int(float(row['time_end'])):06d}{self.ext}"
            )
            label = index.get(row.get("label", ""), UNLABELLED)
            label_dir = row.get("label", "")
            candidates = [folder / label_dir / stem, folder / label_dir.replace(" ", "_") / stem, folder / stem]
            found = next((p for p in candidates if p.exists()), None)
            if found is None:
                missing += 1
                continue
            out.append(VideoRecord(str(found), label, row["youtube_id"]))
        self.missing[split] = missing
        if missing:
            log.warning(
                "Kinetics %s: %d of %d clips listed in %s are not under %s (looked in <label>/,"
                " <label_with_underscores>/ and the folder itself); they are left out",
                split, missing, missing + len(out), self._csv(split), folder,
            )  # fmt: skip
        return out


VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv")


class VideoFolder(DatasetReader):
    """A folder per class (``root/<split>/<class>/*.mp4``, or ``root/<class>/*`` for every split), or,
    with ``labelled=False``, any tree of videos for self-supervised runs (labels are -1).

    Without a ``train/`` folder the whole tree is the training split. ``val`` reads ``val/`` (or
    ``validate/``, or else ``test/``) and ``test`` reads ``test/`` (or else ``val/``); a split with no
    folder is an error (:class:`MissingSplitError`) unless ``holdout_fraction`` holds out a seeded
    part of the training videos (:func:`holdout_split`; a video's group is its ``_gNN_`` UCF-style
    group when its name has one).
    """

    def __init__(
        self,
        root: str,
        labelled: bool = True,
        suffixes: tuple[str, ...] = VIDEO_SUFFIXES,
        holdout_fraction: float = 0.0,
        holdout_seed: int = 0,
    ) -> None:
        self._root = Path(root)
        if not self._root.is_dir():
            raise FileNotFoundError(f"video folder not found: {self._root}")
        self.labelled = labelled
        self.suffixes = tuple(s.lower() for s in suffixes)
        self.holdout_fraction, self.holdout_seed = holdout_fraction, holdout_seed

    def _split_root(self, split: Split) -> Path | None:
        for name in {"train": ("train",), "val": ("val", "validate", "test"), "test": ("test", "val")}[split]:
            if (self._root / name).is_dir():
                return self._root / name
        return self._root if split == "train" else None

    @property
    def classes(self) -> list[str]:
        if not self.labelled:
            return []
        base = self._split_root("train")
        return sorted(p.name for p in base.iterdir() if p.is_dir())

    def records(self, split: Split) -> list[VideoRecord]:
        base = self._split_root(split)
        if base is None:
            if not self.holdout_fraction:
                raise _missing(f"VideoFolder({self._root})", split, f"no {split}/ folder under it")
            return holdout_split(
                self._records(self._split_root("train")), split, self.holdout_fraction, self.holdout_seed
            )
        records = self._records(base)
        if split == "train" and self.holdout_fraction and self._split_root("test") is None:
            return holdout_split(records, split, self.holdout_fraction, self.holdout_seed)
        return records

    def _records(self, base: Path) -> list[VideoRecord]:
        files = sorted(p for p in base.rglob("*") if p.suffix.lower() in self.suffixes and p.is_file())

        def group(p: Path) -> str:
            found = _UCF_GROUP.search(p.name)
            return f"{p.parent.name}_g{found.group(1)}" if found else ""

        if not self.labelled:
            return [VideoRecord(str(p), group=group(p)) for p in files]
        index = {c: i for i, c in enumerate(self.classes)}
        return [
            VideoRecord(str(p), index.get(p.relative_to(base).parts[0], UNLABELLED), group(p))
            for p in files
            if len(p.relative_to(base).parts) > 1
        ]


class Manifest(DatasetReader):
    """CSV or JSONL manifests, one per split: ``path,label[,start_sec,end_sec]`` (label optional).

    ``files`` maps split -> manifest path; relative video paths are taken from the manifest's
    folder. Labels may be names or integers; names are indexed in sorted order of the training
    manifest unless ``classes`` is given. ``val`` reads the test manifest when there is no val one
    (and ``test`` the val one); with neither, ``val``/``test`` are an error (:class:`MissingSplitError`)
    unless ``holdout_fraction`` holds out a seeded part of the training rows (:func:`holdout_split`;
    an optional ``group`` column keeps clips of one source together).
    """

    def __init__(
        self,
        files: dict[str, str],
        classes: list[str] | None = None,
        holdout_fraction: float = 0.0,
        holdout_seed: int = 0,
    ) -> None:
        self.files = {k: Path(v) for k, v in files.items()}
        if "train" not in self.files:
            raise ValueError("Manifest needs at least a 'train' file")
        unknown = sorted(set(self.files) - {"train", "val", "test"})
        if unknown:
            raise ValueError(f"Manifest files: unknown split(s) {unknown}; use train, val and test")
        self._root = self.files["train"].parent
        self._classes = classes
        self.holdout_fraction, self.holdout_seed = holdout_fraction, holdout_seed

    def _rows(self, split: Split) -> list[dict]:
        import csv
        import json

        path = self.files.get(split) or self.files.get({"train": "train", "val": "test", "test": "val"}[split])
        if path is None:
            raise _missing(f"Manifest({self.files['train']})", split, "no val or test file")
        if not path.exists():
            raise FileNotFoundError(f"manifest not found: {path}")
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in _read_lines(path)]
        else:
            with path.open(newline="") as f:
                rows = list(csv.DictReader(f))
        for row in rows:
            if "path" not in row:
                raise ValueError(f"{path}: every row needs a 'path' column, got {sorted(row)}")
            row["path"] = str(path.parent / row["path"])
        return rows

    @property
    def classes(self) -> list[str]:
        if self._classes is None:
            labels = {str(r["label"]) for r in self._rows("train") if str(r.get("label", "")) != ""}
            self._classes = sorted(
                labels, key=lambda x: (not x.lstrip("-").isdigit(), int(x) if x.lstrip("-").isdigit() else 0, x)
            )
        return self._classes

    def records(self, split: Split) -> list[VideoRecord]:
        held_out = self.holdout_fraction and not ({"val", "test"} & set(self.files))
        index = {c: i for i, c in enumerate(self.classes)}
        out = []
        for row in self._rows("train" if held_out else split):
            label = str(row.get("label", ""))
            start, end = row.get("start_sec"), row.get("end_sec")
            span = (float(start), float(end)) if start not in (None, "") and end not in (None, "") else None
            out.append(VideoRecord(row["path"], index.get(label, UNLABELLED), str(row.get("group") or ""), span))
        return holdout_split(out, split, self.holdout_fraction, self.holdout_seed) if held_out else out
