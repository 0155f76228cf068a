"""Anomaly scorers, each chosen by ``class_path`` in an anomaly config."""

from .base import AnomalyScorer
from .combined import CombinedScorer
from .frame_knn import FrameKNNScorer
from .knn import KNNScorer
from .mil import MILRankingLoss, MILScorer
from .next_step import NextStepScorer
from .order import OrderScorer
from .pace import PaceScorer
from .speed import FeatureSpeedScorer

__all__ = [
    "AnomalyScorer",
    "CombinedScorer",
    "FeatureSpeedScorer",
    "FrameKNNScorer",
    "KNNScorer",
    "MILRankingLoss",
    "MILScorer",
    "NextStepScorer",
    "OrderScorer",
    "PaceScorer",
]
