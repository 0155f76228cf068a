"""Anomaly scorers, each chosen by ``class_path`` in an anomaly config."""

from .base import AnomalyScorer
from .combined import CombinedScorer
from .knn import KNNScorer
from .next_step import NextStepScorer
from .order import OrderScorer

__all__ = ["AnomalyScorer", "CombinedScorer", "KNNScorer", "NextStepScorer", "OrderScorer"]
