"""``videovision evaluate-features TRAIN_DIR TEST_DIR``: scikit-learn linear probe, kNN and retrieval
R@k on embeddings written by ``predict`` (see experiments/demo/extract.yaml), the linear probe's confusions
and a t-SNE plot."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ..callbacks.images import save_confusion_matrix
from ..evaluation import knn_probe, linear_probe, load_embeddings, load_pair, tsne_plot, video_retrieval
from ..evaluation.frozen import RETRIEVAL_KS


def evaluate(
    train_dir: str | Path,
    test_dir: str | Path,
    label_fraction: float = 1.0,
    samples_per_class: int | None = None,
    seed: int = 0,
    knn_k: int = 20,
    C: float = 1.0,
) -> dict:
    """Linear probe and kNN (trained on a ``label_fraction`` of the train videos) and retrieval
    (test queries against the whole train gallery), all on the test split; unlabelled embeddings
    (label -1) get none of them, and ``notes`` say so, or where k exceeds the gallery. ``classes`` names the
    labels, the rows and columns of the probes' ``confusion`` matrices."""
    train, test = load_pair(train_dir, test_dir)
    results: dict = {"train_videos": len(train.labels), "test_videos": len(test.labels), "notes": []}
    if (train.labels < 0).all() or (test.labels < 0).all():
        results["notes"].append("the embeddings carry no labels: no probe, kNN or retrieval (t-SNE still works)")
        return results
    labelled = int((train.labels >= 0).sum())
    if knn_k > labelled:
        results["notes"].append(f"kNN k={knn_k} exceeds the {labelled} labelled gallery videos: all of them vote")
    if max(RETRIEVAL_KS) > len(train.labels):
        results["notes"].append(f"R@k for k above the gallery's {len(train.labels)} videos counts the whole gallery")
    results["classes"] = max(train.classes, test.classes, key=len)  # by label: the confusion matrices' rows
    results["linear_probe"] = linear_probe(train, test, label_fraction, samples_per_class, seed, C)
    results["knn"] = knn_probe(train, test, knn_k, label_fraction=label_fraction, seed=seed)
    results["retrieval"] = video_retrieval(train, test)
    return results


def most_confused(confusion: list[list[int]], classes: list[str], top: int = 3) -> list[tuple[str, str, int]]:
    """The ``top`` largest off-diagonal cells of a confusion matrix (rows true, columns predicted), largest first:
    ``(true class, predicted class, count)``; cells of zero are left out."""
    counts = np.array(confusion)
    np.fill_diagonal(counts, 0)
    order = np.argsort(-counts, axis=None, kind="stable")[:top]
    cells = [np.unravel_index(i, counts.shape) for i in order]
    return [(classes[t], classes[p], int(counts[t, p])) for t, p in cells if counts[t, p]]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="videovision evaluate-features", description=__doc__)
    parser.add_argument("train_dir", help="folder written by predict for the train split (the gallery)")
    parser.add_argument("test_dir", help="folder written by predict for the test split (the queries)")
    parser.add_argument(
        "--label-fraction", type=float, default=1.0, help="stratified fraction of train labels for the probes"
    )
    parser.add_argument("--samples-per-class", type=int, default=None, help="labelled train videos per class instead")
    parser.add_argument("--seed", type=int, default=0, help="seed of the labelled subset")
    parser.add_argument("--knn-k", type=int, default=20)
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--confusion", default=None, help="write the linear probe's test confusion matrix PNG here")
    parser.add_argument("--tsne", default=None, help="write a t-SNE PNG of the test embeddings here")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    results = evaluate(
        args.train_dir, args.test_dir, args.label_fraction, args.samples_per_class, args.seed, args.knn_k, args.C
    )
    print(f"train {results['train_videos']} videos (gallery), test {results['test_videos']} videos (queries)")
    for note in results["notes"]:
        print(f"note: {note}")
    if "retrieval" in results:
        for name, key in (("linear probe ", "linear_probe"), (f"kNN (k={args.knn_k})  ", "knn")):
            scores = results[key]
            print(f"{name} top-1 {100 * scores['top1']:.1f}  mean class acc {100 * scores['mean_class_acc']:.1f}")
        print("retrieval     " + "  ".join(f"{k} {100 * v:.1f}" for k, v in results["retrieval"].items()))
        classes, confusion = results["classes"], results["linear_probe"]["confusion"]
        confused = most_confused(confusion, classes)
        print(
            "probe's most confused (true -> predicted: videos): "
            + ", ".join(f"{t} -> {p}: {n}" for t, p, n in confused)
        )
        if args.confusion:
            title = f"linear probe, {100 * args.label_fraction:g} % of the train labels"
            print(f"saved {save_confusion_matrix(torch.tensor(confusion), classes, Path(args.confusion), title)}")
    if args.tsne:
        print(f"saved {tsne_plot(load_embeddings(args.test_dir), args.tsne)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results
