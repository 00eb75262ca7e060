"""Doctest collection of the package: leave out what needs absent extras.

The napari plugin's widget and panel subclass Qt widgets, so their
modules import napari and Qt; without them (no ``ipcf[napari]``) those
modules are not collected. The reader needs neither and always is.

"""

import importlib.util


def _installed(*names: str) -> bool:
    return all(importlib.util.find_spec(name) is not None for name in names)


_QT = ('PyQt5', 'PyQt6', 'PySide2', 'PySide6')

collect_ignore = []
if not (
    _installed('napari', 'qtpy', 'matplotlib')
    and any(_installed(name) for name in _QT)
):
    collect_ignore += ['ipcf/napari/_widget.py', 'ipcf/napari/_panel.py']
