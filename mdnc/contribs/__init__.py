"""Contributed tools: ``mdnc.contribs.torchsummary``."""

from . import torchsummary

__all__ = ["torchsummary"]
