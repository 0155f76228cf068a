"""Frozen-feature evaluation on what ``predict`` wrote (:class:`~videovision.callbacks.EmbeddingWriter`)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, confusion_matrix
from sklearn.preprocessing import StandardScaler

from data_modules.subsets import stratified_subset

from .knn import weighted_knn_predict
from .retrieval import retrieval_recall

RETRIEVAL_KS = (1, 5, 10, 20, 50)


@dataclass
class Embeddings:
    """One split's embeddings: ``features`` (N, D) per video, ``labels`` (N,), ``classes`` by label, ``paths``."""

    features: np.ndarray
    labels: np.ndarray
    classes: list[str]
    paths: list[str]


def load_embeddings(folder: str | Path) -> Embeddings:
    """Read ``video_embeddings.npy`` and ``index.csv`` from ``folder``; a missing file is named."""
    folder = Path(folder)
    for name in ("video_embeddings.npy", "index.csv"):
        if not (folder / name).is_file():
            raise FileNotFoundError(
                f"{folder / name} not found: write it with `python -m videovision predict` and EmbeddingWriter"
            )
    features = np.load(folder / "video_embeddings.npy")
    with open(folder / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(features):
        raise ValueError(f"{folder}: index.csv has {len(rows)} rows but video_embeddings.npy {len(features)}")
    labels = np.array([int(r["label"]) for r in rows])
    names = {int(r["label"]): r["class"] for r in rows if int(r["label"]) >= 0}
    classes = [names.get(i, str(i)) for i in range(max(names, default=-1) + 1)]
    return Embeddings(features, labels, classes, [r["path"] for r in rows])


def load_pair(train_dir: str | Path, test_dir: str | Path) -> tuple[Embeddings, Embeddings]:
    """The train (gallery) and test (query) embeddings; their widths must agree."""
    train, test = load_embeddings(train_dir), load_embeddings(test_dir)
    if train.features.shape[1] != test.features.shape[1]:
        raise ValueError(f"{train_dir} and {test_dir} hold embeddings of different widths")
    return train, test


def video_retrieval(train: Embeddings, test: Embeddings, ks: tuple[int, ...] = RETRIEVAL_KS) -> dict[str, float]:
    """R@k (``"R@1"``, ...) of the test videos querying the whole train gallery (:func:`retrieval_recall`)."""
    to_tensor = torch.from_numpy
    recall = retrieval_recall(
        to_tensor(test.features), to_tensor(test.labels), to_tensor(train.features), to_tensor(train.labels), ks
    )
    return {f"R@{k}": v for k, v in recall.items()}


def _scores(predicted: np.ndarray, labels: np.ndarray, num_classes: int) -> dict:
    """``top1``, ``mean_class_acc`` and ``confusion``: counts (C, C) as lists, rows the true class, columns the
    prediction."""
    return {
        "top1": float((predicted == labels).mean()),
        "mean_class_acc": float(balanced_accuracy_score(labels, predicted)),
        "confusion": confusion_matrix(labels, predicted, labels=np.arange(num_classes)).tolist(),
    }


def _labelled(split: Embeddings, name: str) -> tuple[np.ndarray, np.ndarray]:
    keep = split.labels >= 0
    if not keep.any():
        raise ValueError(f"the {name} embeddings carry no labels")
    return split.features[keep], split.labels[keep]


def _num_classes(*labels: np.ndarray) -> int:
    return int(max(split.max() for split in labels)) + 1


def linear_probe(
    train: Embeddings,
    test: Embeddings,
    label_fraction: float = 1.0,
    samples_per_class: int | None = None,
    seed: int = 0,
    C: float = 1.0,
) -> dict:
    """Standardised features -> L2-regularised multinomial logistic regression, trained on a stratified,
    seeded subset of the labelled train videos (the subset the data module picks for the same seed).

    The standardisation is fitted on every train video (it reads no label): fitted on a handful of
    labelled videos it would blow noise dimensions up to the scale of the signal."""
    scaler = StandardScaler().fit(train.features)
    x, y = _labelled(train, "train")
    subset = stratified_subset(y.tolist(), label_fraction, samples_per_class, seed)
    probe = LogisticRegression(C=C, max_iter=5000).fit(scaler.transform(x[subset]), y[subset])
    xt, yt = _labelled(test, "test")
    return _scores(probe.predict(scaler.transform(xt)), yt, _num_classes(y, yt))


def knn_probe(
    train: Embeddings,
    test: Embeddings,
    k: int = 20,
    temperature: float = 0.07,
    label_fraction: float = 1.0,
    seed: int = 0,
) -> dict:
    """:func:`~videovision.evaluation.knn.weighted_knn_predict` with the labelled train videos
    (a ``label_fraction`` subset) as the bank and the test videos as queries."""
    x, y = _labelled(train, "train")
    subset = stratified_subset(y.tolist(), label_fraction, None, seed)
    xt, yt = _labelled(test, "test")
    num_classes = _num_classes(y, yt)
    scores = weighted_knn_predict(
        torch.from_numpy(x[subset]), torch.from_numpy(y[subset]), torch.from_numpy(xt), num_classes, k, temperature
    )
    return _scores(scores.argmax(1).numpy(), yt, num_classes)


def tsne_plot(split: Embeddings, path: str | Path, title: str = "", seed: int = 0) -> Path:
    """A 2-D t-SNE of the video embeddings, one colour per class, saved as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(split.features) - 1) / 3)))
    points = TSNE(n_components=2, init="pca", perplexity=perplexity, random_state=seed).fit_transform(split.features)
    fig, ax = plt.subplots(figsize=(7, 6))
    cmap = plt.get_cmap("tab20" if len(split.classes) > 10 else "tab10")
    for label in np.unique(split.labels):
        at = split.labels == label
        name = split.classes[label] if label >= 0 else "unlabelled"
        ax.scatter(
            points[at, 0], points[at, 1], s=10, color=cmap(int(label) % cmap.N) if label >= 0 else "grey", label=name
        )
    if len(split.classes) <= 20:
        ax.legend(fontsize=7, markerscale=1.5, loc="best")
    ax.set_title(title or f"t-SNE of {len(points)} video embeddings")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
