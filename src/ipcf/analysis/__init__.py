"""Maps derived from a pCF result: diffusion, flow, barriers and channels.

A pCF result holds, for every pixel, one correlation curve per circle
point. :func:`maps` condenses it into images a biologist reads directly:

- where a correlation peak arrives and how strong it is, per pixel and
  direction (``peak_delay``, ``peak_amplitude``, ``peak_rise``), and
  whether there is one at all (``connected``): where molecules can go;
- the diffusion coefficient from a fit of the free-diffusion model
  (``D``), pooled over a region with its uncertainty;
- the first angular moment of the peak heights: the direction and
  strength of a flow (``flow_angle``, ``flow_strength``, ``flow_speed``);
- the second angular moment: the axis of a channel and how anisotropic
  the transport is (``axis_angle``, ``anisotropy``).

:func:`pcf_model` returns the model curves pushed through the same log
binning and smoothing as the data, and :func:`save_maps` /
:func:`load_maps` store the maps in the result store
(:mod:`ipcf.store`) with their provenance. Of a stored result,
:func:`maps` reads blocks of rows, never the whole result, and
:func:`write_maps` writes the maps of each block into the maps file as
they are made, so that a full frame fits in a few hundred MB.

A result of several planes or channels (:func:`ipcf.analyze` of a
multi-channel, multi-plane file) gets maps with the same extra dims,
each plane and channel pair mapped on its own; :func:`select` returns
one plane and channel pair of a result or its maps in the plain layout.

Angles are in radians, measured from the +x axis (columns, to the right)
toward the +y axis (rows, downward in an image display), as the result's
``angle`` coordinate, ``atan2(v, u)``. A flow to the right has angle 0, a
flow downward +pi/2.

"""

from __future__ import annotations

from ._blocked import write_maps
from ._maps import maps
from ._model import pcf_model
from ._select import select
from ._store import load_maps, save_maps

__all__ = [
    'load_maps',
    'maps',
    'pcf_model',
    'save_maps',
    'select',
    'write_maps',
]
