"""Old home of :mod:`videovision.callbacks.images`: configs naming ``videovision.media.SampleClips`` run until 0.3."""

from .callbacks.images import SampleClips

__all__ = ["SampleClips"]
