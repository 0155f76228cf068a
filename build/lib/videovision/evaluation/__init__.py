"""Evaluation on frozen embeddings: retrieval, weighted kNN, scikit-learn linear probe, t-SNE."""

from .frozen import Embeddings, knn_probe, linear_probe, load_embeddings, load_pair, tsne_plot, video_retrieval
from .knn import weighted_knn_predict
from .retrieval import retrieval_recall

__all__ = [
    "Embeddings",
    "knn_probe",
    "linear_probe",
    "load_embeddings",
    "load_pair",
    "retrieval_recall",
    "tsne_plot",
    "video_retrieval",
    "weighted_knn_predict",
]
