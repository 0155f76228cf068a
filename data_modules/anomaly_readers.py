"""Readers of video anomaly detection benchmarks, each in the layout its authors distribute.

A reader lists :class:`AnomalyRecord` s: the video (a file or a frame folder) and, for test videos, its
ground truth as a per-frame 0/1 mask or as 1-based inclusive frame spans. :func:`frame_labels` turns a record
into the per-frame labels once the video's real length is known (:func:`data_modules.video_io.probe_video`),
and raises, naming the file, when the ground truth does not fit the video. Readers never drop a test video:
a missing mask or video raises with its path.

Layouts (root = the dataset folder as unpacked):

- :class:`ShanghaiTech`: ``training/videos/*.avi``; ``testing/frames/<video>/<NNN>.jpg``;
  ``testing/test_frame_mask/<video>.npy``.
- :class:`Avenue` (CUHK): ``training_videos/NN.avi``, ``testing_videos/NN.avi``,
  ``testing_label_mask/<n>_label.mat`` (``volLabel``: a cell array of one pixel mask per frame).
- :class:`UCSDPed` (Ped1/Ped2): ``Train/TrainNNN/*.tif``, ``Test/TestNNN/*.tif`` and ``Test/UCSDpedN.m``, whose
  ``TestVideoFile{end+1}.gt_frame = [61:180];`` lines give each test video's anomalous frames (1-based).
- :class:`UCFCrime`: videos in class folders anywhere under root, the test split and its spans in
  ``Temporal_Anomaly_Annotation_for_Testing_Videos.txt`` (``name class start1 end1 start2 end2``, -1 = none).
- :class:`GenericAnomaly`: ``train/`` videos or frame folders; ``test/`` videos or frame folders, each with a
  ``<name>.npy`` 0/1 per-frame mask beside it; optionally ``train_anomalous/``: weakly labelled training videos
  (anomalous somewhere, frames unknown), for weakly supervised scorers. Each may hold subfolders (one per camera,
  say): a video's id is then its path below the split folder, ``cam2/d``.

Hidden files (a name starting with ``.``, such as the ``._`` copies macOS leaves in archives) are never read as
videos or ground truth.

Each reader is also a :class:`DatasetReader` whose ``records(split)`` are unlabelled :class:`VideoRecord` s, so a
self-supervised run can pretrain through :class:`VideoDataModule`: on the training videos not labelled anomalous
(the one-class setting's normal video), or on every test video.
"""

from __future__ import annotations

import logging
import re
from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from .frame_folders import IMAGE_SUFFIXES
from .readers import VIDEO_SUFFIXES, DatasetReader, Split, VideoRecord

log = logging.getLogger(__name__)

AnomalySplit = Literal["train", "test"]


class AnnotationError(ValueError):
    """Ground truth that does not fit its video or cannot be read; the message names the file."""


@dataclass(frozen=True)
class AnomalyRecord:
    """One video of an anomaly benchmark.

    ``path``: video file or frame folder; ``name``: its id in outputs; ``source``: the file the ground truth comes
    from. Test videos carry either ``mask`` (N,) 0/1 per frame, or ``spans``: 1-based inclusive anomalous frame
    ranges (empty = a normal test video). ``anomalous``: the video-level label (weak supervision), ``None`` if
    unknown. Training videos carry neither mask nor spans.
    """

    path: str
    name: str
    mask: np.ndarray | None = None
    spans: tuple[tuple[int, int], ...] | None = None
    source: str = ""
    anomalous: bool | None = None

    @property
    def is_test(self) -> bool:
        return self.mask is not None or self.spans is not None


def frame_labels(record: AnomalyRecord, num_frames: int) -> np.ndarray:
    """(num_frames,) int64 0/1 labels of a test record whose video has ``num_frames`` decodable frames.

    Raises :class:`AnnotationError` naming the ground-truth file and the video when a mask is shorter or longer
    than the video, holds values other than 0/1, or a span lies outside it.
    """
    where = f"{record.source or record.path} (video {record.path}, {num_frames} frames)"
    if record.mask is not None:
        mask = np.asarray(record.mask).reshape(-1)
        if len(mask) != num_frames:
            longer = "longer" if len(mask) > num_frames else "shorter"
            raise AnnotationError(f"{where}: the mask has {len(mask)} frames, {longer} than the video")
        if not np.isin(mask, (0, 1)).all():
            raise AnnotationError(f"{where}: the mask holds values other than 0/1: {np.unique(mask)[:5].tolist()}")
        return mask.astype(np.int64)
    if record.spans is None:
        raise AnnotationError(f"{record.path}: a training record has no ground truth")
    labels = np.zeros(num_frames, dtype=np.int64)
    for start, end in record.spans:
        if not 1 <= start <= end <= num_frames:
            raise AnnotationError(f"{where}: anomalous span {start}-{end} is not within frames 1-{num_frames}")
        labels[start - 1 : end] = 1
    return labels


def _is_video(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    if path.is_dir():
        return any(p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") for p in path.iterdir())
    return path.suffix.lower() in VIDEO_SUFFIXES


def _videos_in(folder: Path, pattern: str = "*") -> list[Path]:
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    return sorted(p for p in folder.glob(pattern) if _is_video(p))


def _labels_in(folder: Path, pattern: str) -> list[Path]:
    """The ground-truth files ``pattern`` matches in ``folder`` (``**/`` patterns below it), hidden ones and those in
    hidden folders left out."""
    return sorted(
        p for p in folder.glob(pattern) if not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def _video_tree(folder: Path) -> dict[str, Path]:
    """Every video and frame folder at any depth below ``folder`` by its id: its path below ``folder`` without the
    suffix (``cam2/d`` for ``cam2/d.avi``). A folder holding images is a frame folder; any other folder is looked
    into, unless it is a link (which may loop back). Raises, naming both, when two videos have one id (``d.avi`` and
    ``d.mp4``): they would share a mask and an output file; and when a frame folder holds a video or another frame
    folder, which would be left out unseen."""
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if _is_video(path):
            inner = _video_tree(path) if path.is_dir() else {}
            if inner:
                raise AnnotationError(
                    f"{next(iter(inner.values()))}: a video inside the frame folder {path} ({len(inner)} in all); "
                    "move it out: the folder is read as one video of its images, and this one would be left out"
                )
            ids = {_name(path): path}
        elif path.is_dir() and not path.is_symlink():
            ids = {f"{path.name}/{key}": video for key, video in _video_tree(path).items()}
        else:
            continue
        for key, video in ids.items():
            if key in found:
                raise AnnotationError(f"{video}: another video with the id {key!r} lies at {found[key]}; rename one")
            found[key] = video
    return found


def _name(path: Path) -> str:
    """A video's id: a file's stem, a frame folder's name."""
    return path.stem if path.is_file() else path.name


def _refuse_orphans(labels: list[Path], names: set[str], name_of, folder: Path) -> None:
    """Raise, naming the first, for ground-truth files whose video (``name_of(label)``) is not among ``names``: its
    frames would otherwise leave the metric unseen."""
    orphans = sorted(p for p in labels if name_of(p) not in names)
    if orphans:
        raise AnnotationError(
            f"{orphans[0]}: ground truth without a video (or with an empty frame folder) of that name in {folder}"
            f" ({len(orphans)} in all)"
        )


def _load_mask(path: Path) -> np.ndarray:
    """A per-frame mask saved as shape (T,), (T, 1) or (1, T)."""
    if not path.is_file():
        raise AnnotationError(f"ground-truth mask not found: {path}")
    try:
        mask = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise AnnotationError(f"{path}: not a numpy mask ({exc})") from exc
    if mask.ndim not in (1, 2) or (mask.ndim == 2 and 1 not in mask.shape):
        raise AnnotationError(f"{path}: a mask of shape {mask.shape}; expected one value per frame, shape (T,)")
    return mask.reshape(-1)


class AnomalyReader(DatasetReader):
    """Base: :meth:`anomaly_records` per split; ``records`` gives the same videos, unlabelled."""

    def __init__(self, root: str) -> None:
        self._root = Path(root)

    @property
    def classes(self) -> list[str]:
        return []

    @abstractmethod
    def anomaly_records(self, split: AnomalySplit) -> list[AnomalyRecord]:
        """The videos of ``split``; test records carry their ground truth."""

    def records(self, split: Split) -> list[VideoRecord]:
        if split == "train":
            return [VideoRecord(r.path) for r in self.anomaly_records("train") if not r.anomalous]
        return [VideoRecord(r.path) for r in self.anomaly_records("test")]


class ShanghaiTech(AnomalyReader):
    """ShanghaiTech Campus (Luo et al., ICCV 2017) as distributed: training videos, test frame folders and masks."""

    def anomaly_records(self, split: AnomalySplit) -> list[AnomalyRecord]:
        if split == "train":
            return [AnomalyRecord(str(p), p.stem) for p in _videos_in(self._root / "training" / "videos")]
        masks, frames = self._root / "testing" / "test_frame_mask", self._root / "testing" / "frames"
        folders = _videos_in(frames)
        _refuse_orphans(_labels_in(masks, "*.npy"), {f.name for f in folders}, lambda p: p.stem, frames)
        out = []
        for folder in folders:
            mask_file = masks / f"{folder.name}.npy"
            out.append(AnomalyRecord(str(folder), folder.name, mask=_load_mask(mask_file), source=str(mask_file)))
        return out


class Avenue(AnomalyReader):
    """CUHK Avenue (Lu et al., ICCV 2013): ``volLabel`` per test video; a frame is anomalous where its mask has any
    pixel set. Test video ``NN.avi`` pairs with ``testing_label_mask/<int(NN)>_label.mat``."""

    def anomaly_records(self, split: AnomalySplit) -> list[AnomalyRecord]:
        if split == "train":
            return [AnomalyRecord(str(p), p.stem) for p in _videos_in(self._root / "training_videos")]
        folder, labels = self._root / "testing_videos", self._root / "testing_label_mask"
        videos = _videos_in(folder)
        for video in videos:
            if not video.stem.isdigit():
                raise AnnotationError(
                    f"{video}: Avenue test videos are numbered (NN.avi) to pair with {labels}/<n>_label.mat"
                )
        numbers = {str(int(v.stem)) for v in videos}
        _refuse_orphans(_labels_in(labels, "*_label.mat"), numbers, lambda p: p.name.removesuffix("_label.mat"), folder)
        out = []
        for video in videos:
            mat = labels / f"{int(video.stem)}_label.mat"
            out.append(AnomalyRecord(str(video), video.stem, mask=self._mask(mat), source=str(mat)))
        return out

    @staticmethod
    def _mask(path: Path) -> np.ndarray:
        from scipy.io import loadmat

        if not path.is_file():
            raise AnnotationError(f"ground-truth mask not found: {path}")
        try:
            content = loadmat(path)
        except Exception as exc:  # v7.3 (HDF5) or not a .mat file: scipy raises any of several errors
            raise AnnotationError(f"{path}: not a MATLAB v5 .mat file that scipy reads ({exc})") from exc
        if "volLabel" not in content:
            raise AnnotationError(f"{path}: no 'volLabel' variable (found {sorted(k for k in content if k[0] != '_')})")
        cells = np.asarray(content["volLabel"], dtype=object).reshape(-1)
        return np.asarray([int(np.asarray(m).any()) for m in cells], dtype=np.int64)


_UCSD_GT = re.compile(r"TestVideoFile\s*\{\s*end\s*\+\s*1\s*\}\s*\.\s*gt_frame\s*=\s*\[?([^\];]*)\]?\s*;?")
_UCSD_RANGE = re.compile(r"(\d+)(?::(\d+))?")
_SPACED_COLON = re.compile(r"\s*:\s*")


def _matlab_code(text: str) -> list[str]:
    """The lines of a MATLAB file without comments: ``%`` to the end of a line, and ``%{ ... %}`` blocks."""
    lines, in_block = [], False
    for line in text.splitlines():
        if line.strip() in ("%{", "%}"):
            in_block = line.strip() == "%{"
            lines.append("")
            continue
        lines.append("" if in_block else line.partition("%")[0])
    return lines


def _ucsd_spans(line: str) -> tuple[tuple[int, int], ...] | None:
    """The spans one ``gt_frame`` line sets, or ``None`` where it is not ``TestVideoFile{end+1}.gt_frame = [a:b, c:d];``
    (``[]`` sets none; ``gt_frame = ;`` is not read as that)."""
    match = _UCSD_GT.fullmatch(line.strip())
    if not match or not (match.group(1).strip() or "[" in line):
        return None
    ranges = [_UCSD_RANGE.fullmatch(t) for t in re.split(r"[\s,]+", _SPACED_COLON.sub(":", match.group(1))) if t]
    if not all(ranges):
        return None
    return tuple((int(r.group(1)), int(r.group(2) or r.group(1))) for r in ranges)


def parse_ucsd_gt(path: str | Path) -> list[tuple[tuple[int, int], ...]]:
    """Anomalous frame spans (1-based, inclusive) of each test video, in order, from ``UCSDped1.m``/``UCSDped2.m``.

    Every ``TestVideoFile{end+1}.gt_frame = [a:b, c:d];`` line is one video (Test001, Test002, ...); MATLAB
    comments are ignored. Any other line that sets ``gt_frame``, or frames other than ``a`` and ``a:b`` (a step,
    ``a:2:b``), raise naming the line: a video dropped or misread would shift every later one.
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"UCSD ground-truth file not found: {path}")
    videos = []
    for number, line in enumerate(_matlab_code(path.read_text(encoding="utf-8-sig", errors="replace")), 1):
        if "gt_frame" not in line:
            continue
        spans = _ucsd_spans(line)
        if spans is None:
            raise AnnotationError(
                f"{path}:{number}: cannot read {line.strip()!r}; expected TestVideoFile{{end+1}}.gt_frame = [a:b, c:d];"
            )
        videos.append(spans)
    if not videos:
        raise AnnotationError(f"{path}: no 'TestVideoFile{{end+1}}.gt_frame = [...]' line")
    return videos


class UCSDPed(AnomalyReader):
    """UCSD Ped1 or Ped2 (Mahadevan et al., CVPR 2010): ``.tif`` frame folders, spans from ``Test/UCSDpedN.m``.

    Pixel-mask folders (``TestNNN_gt``) are not videos and are skipped by name.
    """

    def __init__(self, root: str, ped: Literal[1, 2] = 2) -> None:
        super().__init__(root)
        if ped not in (1, 2):
            raise ValueError(f"UCSDPed: ped must be 1 or 2, got {ped}")
        self.ped = ped

    def anomaly_records(self, split: AnomalySplit) -> list[AnomalyRecord]:
        if split == "train":
            return [AnomalyRecord(str(p), p.name) for p in _videos_in(self._root / "Train", "Train[0-9][0-9][0-9]")]
        folders = _videos_in(self._root / "Test", "Test[0-9][0-9][0-9]")
        gt_file = self._root / "Test" / f"UCSDped{self.ped}.m"
        spans = parse_ucsd_gt(gt_file)
        if len(spans) != len(folders):
            raise AnnotationError(f"{gt_file}: {len(spans)} test videos listed but {len(folders)} TestNNN folders")
        return [AnomalyRecord(str(f), f.name, spans=s, source=str(gt_file)) for f, s in zip(folders, spans)]


def _words(name: str) -> list[str]:
    """The lower-case words of a folder name: ``Training-Normal-Videos-Part-1`` and ``NormalVideos`` hold ``normal``,
    ``Abnormal`` does not."""
    return re.findall("[a-z]+", re.sub("([a-z])([A-Z])", r"\1 \2", name).lower())


class UCFCrime(AnomalyReader):
    """UCF-Crime (Sultani et al., CVPR 2018): weakly labelled, test spans from the temporal annotation file.

    Videos are found by file name anywhere under root (the class folders and ``*Normal*`` folders of the
    distribution). The test split is the annotation file's list; every other video is training, anomalous when
    its folder is an anomaly class (a folder name without the word ``normal``: ``Training-Normal-Videos-Part-1`` is
    normal, ``Abnormal`` is not). Annotation frames are taken as 1-based inclusive.
    """

    ANNOTATION = "Temporal_Anomaly_Annotation_for_Testing_Videos.txt"

    def __init__(self, root: str, annotation: str | None = None) -> None:
        super().__init__(root)
        self.annotation = Path(annotation) if annotation else self._root / self.ANNOTATION

    def _index(self) -> dict[str, Path]:
        """Every video under root by file name. A second file of the same name and size is a copy, kept once (the
        distribution's ``Normal_Videos_event`` folder repeats 50 of the test normals); of another size, it raises."""
        found: dict[str, Path] = {}
        copies = 0
        for path in sorted(self._root.rglob("*")):
            if path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith(".") and path.is_file():
                if path.name in found:
                    if path.stat().st_size != found[path.name].stat().st_size:
                        raise AnnotationError(
                            f"{path}: another video of the same file name, of another size, lies at {found[path.name]}"
                        )
                    copies += 1
                    continue
                found[path.name] = path
        if copies:
            log.info("UCF-Crime at %s: %d videos found twice (same name and size) are read once", self._root, copies)
        return found

    def _test_rows(self) -> list[tuple[str, str, tuple[tuple[int, int], ...]]]:
        if not self.annotation.is_file():
            raise AnnotationError(f"UCF-Crime annotation file not found: {self.annotation}")
        rows, first_line = [], {}
        for n, line in enumerate(self.annotation.read_text(encoding="utf-8-sig").splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            where = f"{self.annotation}:{n}"
            if len(fields) != 6:
                raise AnnotationError(f"{where}: expected 'name class s1 e1 s2 e2', got {line!r}")
            if fields[0] in first_line:
                raise AnnotationError(f"{where}: {fields[0]} is listed again (first at line {first_line[fields[0]]})")
            first_line[fields[0]] = n
            try:
                bounds = [int(v) for v in fields[2:]]
            except ValueError as exc:
                raise AnnotationError(f"{where}: frame numbers must be integers, got {line!r}") from exc
            pairs = list(zip(bounds[::2], bounds[1::2]))
            if any((s == -1) != (e == -1) for s, e in pairs):
                raise AnnotationError(f"{where}: a span needs both its start and end frame (-1 -1 for none): {line!r}")
            spans = tuple((s, e) for s, e in pairs if s != -1)
            if not spans and fields[1] != "Normal":
                log.warning(
                    "%s: %s, class %s, has no anomalous span: all its frames count as normal", where, *fields[:2]
                )
            rows.append((fields[0], fields[1], spans))
        return rows

    def anomaly_records(self, split: AnomalySplit) -> list[AnomalyRecord]:
        index, rows = self._index(), self._test_rows()
        if split == "test":
            out = []
            for name, cls, spans in rows:
                if name not in index:
                    raise AnnotationError(f"{self.annotation}: test video {name} not found under {self._root}")
                source = str(self.annotation)
                out.append(
                    AnomalyRecord(
                        str(index[name]), Path(name).stem, None, spans, source=source, anomalous=cls != "Normal"
                    )
                )
            return out
        test = {name for name, _, _ in rows}
        return [
            AnomalyRecord(str(p), p.stem, anomalous="normal" not in _words(p.parent.name))
            for name, p in index.items()
            if name not in test
        ]


class GenericAnomaly(AnomalyReader):
    """Any set in the generic layout: ``train/`` normal videos or frame folders; ``test/`` videos or frame folders,
    each with ``<name>.npy`` (0/1 per frame) beside it. A mask without its video raises too. An optional
    ``train_anomalous/`` holds weakly labelled anomalous training videos (video-level label only). Videos in
    subfolders are read too, named by their path below the split folder (``cam2/d``)."""

    WEAK = "train_anomalous"

    def anomaly_records(self, split: AnomalySplit) -> list[AnomalyRecord]:
        folder = self._root / split
        videos = _video_tree(folder)
        if split == "train":
            weak = _video_tree(self._root / self.WEAK) if (self._root / self.WEAK).is_dir() else {}
            normal = [AnomalyRecord(str(p), name, anomalous=False) for name, p in videos.items()]
            return normal + [AnomalyRecord(str(p), name, anomalous=True) for name, p in weak.items()]

        def video_id(mask: Path) -> str:
            return mask.relative_to(folder).with_suffix("").as_posix()

        frame_folders = {p for p in videos.values() if p.is_dir()}  # a .npy of their own (flow, say) is no mask
        masks = [m for m in _labels_in(folder, "**/*.npy") if not frame_folders.intersection(m.parents)]
        _refuse_orphans(masks, set(videos), video_id, folder)
        out = []
        for name, p in videos.items():
            mask_file = p.parent / f"{_name(p)}.npy"
            out.append(AnomalyRecord(str(p), name, mask=_load_mask(mask_file), source=str(mask_file)))
        return out
