"""Argument checks of the data modules: the shared ones of :mod:`mdnc._utils`.

``TypeError`` for a wrong type, ``ValueError`` for a value out of range; the message
reads "NAME must be ..., got VALUE.".
"""

from __future__ import annotations

from typing import Any

from .._utils import check_int, check_real

__all__ = ["check_db", "check_int"]


def check_db(name: str, value: Any) -> float:
    """Return ``value`` as a ``float`` if it is a finite real number (of decibels).

    Raises:
        TypeError: not a real number (``bool`` included).
        ValueError: NaN or infinite.
    """
    return check_real(name, value, what="a number of dB")
