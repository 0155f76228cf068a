"""Frozen-feature evaluation with scikit-learn on what ``predict`` wrote (:class:`~videovision.prediction_writer.EmbeddingWriter`)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from data_modules.video_datamodule import stratified_subset


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
            raise FileNotFoundError(f"{folder / name} not found: write it with `python -m videovision predict` and EmbeddingWriter")
    features = np.load(folder / "video_embeddings.npy")
    with open(folder / "index.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if len(rows) != len(features):
        raise ValueError(f"{folder}: index.csv has {len(rows)} rows but video_embeddings.npy {len(features)}")
    labels = np.array([int(r["label"]) for r in rows])
    names = {int(r["label"]): r["class"] for r in rows if int(r["label"]) >= 0}
    classes = [names.get(i, str(i)) for i in range(max(names, default=-1) + 1)]
    return Embeddings(features, labels, classes, [r["path"] for r in rows])


def _scores(predicted: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {"top1": float((predicted == labels).mean()), "mean_class_acc": float(balanced_accuracy_score(labels, predicted))}


def _labelled(split: Embeddings, name: str) -> tuple[np.ndarray, np.ndarray]:
    keep = split.labels >= 0
    if not keep.any():
        raise ValueError(f"the {name} embeddings carry no labels")
    return split.features[keep], split.labels[keep]


def linear_probe(
    train: Embeddings, test: Embeddings, label_fraction: float = 1.0, samples_per_class: int | None = None, seed: int = 0, C: float = 1.0
) -> dict[str, float]:
    """Standardised features -> L2-regularised multinomial logistic regression, trained on a stratified,
    seeded subset of the labelled train videos (the subset the data module picks for the same seed).

    The standardisation is fitted on every train video (it reads no label): fitted on a handful of
    labelled videos it would blow noise dimensions up to the scale of the signal."""
    scaler = StandardScaler().fit(train.features)
    x, y = _labelled(train, "train")
    subset = stratified_subset(y.tolist(), label_fraction, samples_per_class, seed)
    probe = LogisticRegression(C=C, max_iter=5000).fit(scaler.transform(x[subset]), y[subset])
    xt, yt = _labelled(test, "test")
    return _scores(probe.predict(scaler.transform(xt)), yt)


def knn_probe(
    train: Embeddings, test: Embeddings, k: int = 20, temperature: float = 0.07, label_fraction: float = 1.0, seed: int = 0
) -> dict[str, float]:
    """Weighted kNN on cosine similarity (Wu et al. 2018): each of the ``k`` nearest labelled train
    videos votes ``exp(similarity / temperature)`` for its class."""
    x, y = _labelled(train, "train")
    subset = stratified_subset(y.tolist(), label_fraction, None, seed)

    def weights(distances: np.ndarray) -> np.ndarray:
        return np.exp((1.0 - distances) / temperature)

    knn = KNeighborsClassifier(n_neighbors=min(k, len(subset)), metric="cosine", weights=weights)
    knn.fit(x[subset], y[subset])
    xt, yt = _labelled(test, "test")
    return _scores(knn.predict(xt), yt)


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
        ax.scatter(points[at, 0], points[at, 1], s=10, color=cmap(int(label) % cmap.N) if label >= 0 else "grey", label=name)
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
