"""Self-supervised objectives: each a small module owning its head and loss."""

from .base import Objective
from .nt_xent import NTXentLoss
from .simclr import ProjectionHead, SimCLRObjective
from .vcop import VCOPHead, VCOPObjective

__all__ = ["NTXentLoss", "Objective", "ProjectionHead", "SimCLRObjective", "VCOPHead", "VCOPObjective"]
