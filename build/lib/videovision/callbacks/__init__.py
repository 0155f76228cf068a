"""Lightning callbacks: writing predictions, pictures for the loggers, SLURM requeueing."""

from .embedding_writer import EmbeddingWriter
from .images import ConfusionMatrixPlot, SampleClips
from .slurm_requeue import SLURMRequeue

__all__ = ["ConfusionMatrixPlot", "EmbeddingWriter", "SLURMRequeue", "SampleClips"]
