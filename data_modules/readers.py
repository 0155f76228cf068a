"""Dataset readers: turn a dataset as it lies on disk into lists of :class:`VideoRecord`.

A reader only parses layouts and split files; it never opens a video. Missing or broken
files are found later by the metadata probe (:mod:`data_modules.metadata`), counted and skipped.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
    """

    def __init__(
        self, root: str, split: int = 1, videos_dir: str = "videos", splits_dir: str = "testTrainMulti_7030_splits"
    ) -> None:
        if split not in (1, 2, 3):
            raise ValueError(f"HMDB51 split must be 1, 2 or 3, got {split}")
        self._root = Path(root)
        self.split = split
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

    Videos ``{youtube_id}_{time_start:06d}_{time_end:06d}<ext>`` lie in ``root/<split>/<label>/``
    or flat in ``root/<split>/``; both are looked up. Rows whose file is missing (deleted
    YouTube videos) are counted in :attr:`missing` and dropped, never fatal. Classes are the
    sorted labels of the training CSV. ``val`` reads ``validate.csv``.
    """

    def __init__(self, root: str, annotations: str | None = None, ext: str = ".mp4") -> None:
        self._root = Path(root)
        self.annotations = Path(annotations) if annotations else self._root / "annotations"
        self.ext = ext
        self.missing: dict[Split, int] = {}
        self._classes: list[str] | None = None

    def _rows(self, split: Split) -> list[dict[str, str]]:
        import csv

        name = {"train": "train", "val": "validate", "test": "test"}[split]
        path = self.annotations / f"{name}.csv"
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
            candidates = [folder / row.get("label", "") / stem, folder / stem]
            found = next((p for p in candidates if p.exists()), None)
            if found is None:
                missing += 1
                continue
            out.append(VideoRecord(str(found), label, row["youtube_id"]))
        self.missing[split] = missing
        return out


VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv")


class VideoFolder(DatasetReader):
    """A folder per class (``root/<split>/<class>/*.mp4``, or ``root/<class>/*`` for every split), or,
    with ``labelled=False``, any tree of videos for self-supervised runs (labels are -1).

    Without split folders every split reads the whole tree: fine for self-supervised pretraining,
    for labelled work use split folders or a manifest.
    """

    def __init__(self, root: str, labelled: bool = True, suffixes: tuple[str, ...] = VIDEO_SUFFIXES) -> None:
        self._root = Path(root)
        if not self._root.is_dir():
            raise FileNotFoundError(f"video folder not found: {self._root}")
        self.labelled = labelled
        self.suffixes = tuple(s.lower() for s in suffixes)

    def _split_root(self, split: Split) -> Path:
        for name in {"train": ("train",), "val": ("val", "validate", "test"), "test": ("test", "val")}[split]:
            if (self._root / name).is_dir():
                return self._root / name
        return self._root

    @property
    def classes(self) -> list[str]:
        if not self.labelled:
            return []
        base = self._split_root("train")
        return sorted(p.name for p in base.iterdir() if p.is_dir())

    def records(self, split: Split) -> list[VideoRecord]:
        base = self._split_root(split)
        files = sorted(p for p in base.rglob("*") if p.suffix.lower() in self.suffixes and p.is_file())
        if not self.labelled:
            return [VideoRecord(str(p)) for p in files]
        index = {c: i for i, c in enumerate(self.classes)}
        return [
            VideoRecord(str(p), index.get(p.relative_to(base).parts[0], UNLABELLED))
            for p in files
            if len(p.relative_to(base).parts) > 1
        ]


class Manifest(DatasetReader):
    """CSV or JSONL manifests, one per split: ``path,label[,start_sec,end_sec]`` (label optional).

    ``files`` maps split -> manifest path; relative video paths are taken from the manifest's
    folder. Labels may be names or integers; names are indexed in sorted order of the training
    manifest unless ``classes`` is given.
    """

    def __init__(self, files: dict[str, str], classes: list[str] | None = None) -> None:
        self.files = {k: Path(v) for k, v in files.items()}
        if "train" not in self.files:
            raise ValueError("Manifest needs at least a 'train' file")
        self._root = self.files["train"].parent
        self._classes = classes

    def _rows(self, split: Split) -> list[dict]:
        import csv
        import json

        path = self.files.get(split) or self.files.get("test" if split == "val" else "val") or self.files["train"]
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
        index = {c: i for i, c in enumerate(self.classes)}
        out = []
        for row in self._rows(split):
            label = str(row.get("label", ""))
            start, end = row.get("start_sec"), row.get("end_sec")
            span = (float(start), float(end)) if start not in (None, "") and end not in (None, "") else None
            out.append(VideoRecord(row["path"], index.get(label, UNLABELLED), span=span))
        return out
