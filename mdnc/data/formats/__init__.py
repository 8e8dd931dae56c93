"""The file formats of recordings: one module per format, one registry.

A format (a :class:`Format` subclass) claims files by suffix, describes them from their
headers, reads them whole or a span at a time, and writes them whole or a block at a time.
The built-in formats:

============  ======================  ==================================================
name          suffixes                what
============  ======================  ==================================================
``npy``       ``.npy``                a 1-D or 2-D NumPy array
``npz``       ``.npz``                one array of a NumPy archive
``hdf5``      ``.h5`` ``.hdf5``       one HDF5 dataset (h5py)
``csv``       ``.csv``                columns = channels (text)
``wav``       ``.wav``                WAV audio (soundfile)
``flac``      ``.flac``               FLAC audio (soundfile)
``edf``       ``.edf`` ``.bdf``       EDF/EDF+ and BDF (edfio; ``mdnc[biosignal]``)
``wfdb``      ``.hea``                a PhysioNet WFDB record (wfdb; ``mdnc[biosignal]``)
``seismic``   ``.mseed`` ``.sac`` ... miniSEED, SAC and the waveforms ObsPy reads
                                      (obspy; ``mdnc[seismic]``)
============  ======================  ==================================================

Installed packages add formats through the ``mdnc.plugins`` entry points
(:func:`mdnc.plugins.load_plugins`): their module subclasses :class:`Format` and decorates
it with :func:`register_format`.

Example:
    >>> from mdnc.data.formats import format_of, list_formats
    >>> from pathlib import Path
    >>> format_of(Path("a.wav")).name
    'wav'
    >>> "edf" in list_formats()
    True
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..._utils import NameRegistry
from ..recording import DataError
from ._base import Backend, Format, WriteSpec

__all__ = [
    "ARRAY_SUFFIXES",
    "Backend",
    "Format",
    "WriteSpec",
    "format_of",
    "get_format",
    "list_formats",
    "register_format",
    "supported_suffixes",
    "unregister_format",
]

#: The modules of the built-in formats, in the order of the table above.
BUILTIN = ("npy", "npz", "hdf5", "delimited", "audio", "edf", "physionet", "seismic")
#: The suffixes of the general-purpose array formats (any array can be written to them).
ARRAY_SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".h5", ".hdf5", ".csv", ".wav", ".flac")

_REGISTRY = NameRegistry("format")
_INSTANCES: dict[str, Format] = {}
_loaded = False


def register_format(cls: type[Format]) -> type[Format]:
    """Class decorator: make a :class:`Format` subclass known by its ``name``.

    Raises:
        ValueError: the class has no name or no suffixes, or the name is taken.

    Example:
        >>> @register_format  # doctest: +SKIP
        ... class Raw(Format):
        ...     name, suffixes = "raw", (".raw",)
    """
    if not (isinstance(cls, type) and issubclass(cls, Format)):
        raise TypeError(f"register_format takes a Format subclass, got {cls!r}")
    if not cls.suffixes or not all(s.startswith(".") and s == s.lower() for s in cls.suffixes):
        raise ValueError(f"{cls.__name__}.suffixes must be lower-case suffixes such as '.raw'")
    _REGISTRY.register(cls)
    _INSTANCES.pop(cls.name, None)
    return cls


def unregister_format(name: str) -> None:
    """Forget a format (for tests that register one of their own)."""
    _REGISTRY.unregister(name)
    _INSTANCES.pop(name, None)


def _load() -> None:
    """Import the built-in formats, then the installed plugins (once)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN:
        importlib.import_module(f"{__name__}.{module}")
    from ...plugins import load_plugins

    load_plugins()


def list_formats() -> list[str]:
    """The names of the registered formats, built-in first."""
    _load()
    return _REGISTRY.names()


def get_format(name: str) -> Format:
    """The format registered as ``name``.

    Raises:
        ValueError: no format of that name (the message lists them).
    """
    _load()
    if name not in _INSTANCES:
        _INSTANCES[name] = _REGISTRY.get(name)()
    return _INSTANCES[name]


def supported_suffixes() -> tuple[str, ...]:
    """Every suffix a registered format claims."""
    return tuple(s for name in list_formats() for s in get_format(name).suffixes)


def claimed(path: Path) -> Format | None:
    """The format that claims ``path``, or None."""
    for name in list_formats():
        fmt = get_format(name)
        if fmt.claims(path):
            return fmt
    return None


def format_of(path: Path) -> Format:
    """The format of ``path``, its libraries checked.

    Raises:
        DataError: no format claims it (the message lists the suffixes), or a library the
            format needs is not installed (the message names the extra).
    """
    fmt = claimed(Path(path))
    if fmt is None:
        shown = Path(path).suffix or "(none)"
        raise DataError(
            f"{path}: unsupported file suffix {shown!r}; supported suffixes: "
            f"{', '.join(supported_suffixes())}"
        )
    fmt.check_available(Path(path))
    return fmt
