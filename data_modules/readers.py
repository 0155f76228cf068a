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
    """One video: its path, 0-based label (``UNLABELLED`` = -1) and source group (or ``""``)."""

    path: str
    label: int = UNLABELLED
    group: str = ""


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
        return Path(getattr(self, "_root"))


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
