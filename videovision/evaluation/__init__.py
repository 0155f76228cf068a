"""Evaluation on frozen embeddings: retrieval, scikit-learn linear probe and kNN, t-SNE."""

from .frozen import Embeddings, knn_probe, linear_probe, load_embeddings, tsne_plot
from .retrieval import retrieval_recall

__all__ = ["Embeddings", "knn_probe", "linear_probe", "load_embeddings", "retrieval_recall", "tsne_plot"]
