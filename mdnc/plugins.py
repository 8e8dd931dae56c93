"""Installed packages that add presets, noise models, objectives or formats to mdnc.

A package declares a module in the ``mdnc.plugins`` entry-point group; importing that
module registers what it adds (``register_model``, ``register_noise``, an objective,
:func:`mdnc.data.formats.register_format`). The command line loads them before parsing
its arguments, and the format registry before its first lookup.
"""

from __future__ import annotations

__all__ = ["PLUGIN_GROUP", "load_plugins"]

#: Entry-point group of installed packages that add presets, noise models or objectives.
PLUGIN_GROUP = "mdnc.plugins"


def load_plugins() -> list[str]:
    """Import the modules that installed packages declare in the ``mdnc.plugins`` group.

    A package makes its own noise models, objectives, presets or formats options of the
    ``mdnc`` command by registering them in a module named in its metadata, e.g. in its
    ``pyproject.toml``::

        [project.entry-points."mdnc.plugins"]
        my_noise = "my_package.mdnc_plugin"

    A plugin that fails to import is reported with a ``RuntimeWarning`` and skipped.

    Returns:
        The names of the plugins loaded.
    """
    import warnings
    from importlib.metadata import entry_points

    loaded = []
    for entry in entry_points(group=PLUGIN_GROUP):
        try:
            entry.load()
        except Exception as err:  # a broken plugin must not break the command
            warnings.warn(
                f"mdnc: plugin {entry.name!r} ({entry.value}) was not loaded: "
                f"{type(err).__name__}: {err}",
                RuntimeWarning,
                stacklevel=2,
            )
        else:
            loaded.append(entry.name)
    return loaded


