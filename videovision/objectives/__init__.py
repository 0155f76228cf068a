"""Self-supervised objectives: each a small module owning its head and loss."""

from .base import Objective
from .nt_xent import NTXentLoss
from .pace import PaceHead, PaceObjective, pace_views
from .simclr import ProjectionHead, SimCLRObjective
from .vcop import VCOPHead, VCOPObjective

__all__ = [
    "NTXentLoss",
    "Objective",
    "PaceHead",
    "PaceObjective",
    "ProjectionHead",
    "SimCLRObjective",
    "VCOPHead",
    "VCOPObjective",
    "pace_views",
]
