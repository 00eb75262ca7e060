"""Pair-correlation function (pCF) of image time series.

The image pCF correlates the intensity time series of every pixel with the
series of the pixels on a circle around it, averages each curve in
logarithmic delay bins and smooths it. Of a volume series (T, Z, Y, X)
the neighbours lie on a sphere instead (:func:`ipcf.plan.sphere`).
:func:`pcf_image` is the public front door: it validates its input,
builds the :class:`ipcf.plan.Plan` once and hands it with a reader of the
input to an engine (:mod:`ipcf.engines`), which pulls the rows it needs.
With a second channel (``neighbour=``) the centres come from one channel
and their circle neighbours from the other: the cross-channel pCF.
:class:`PcfAnalysis` is the same analysis as the blocked pipeline runs it
(:func:`ipcf.analyze`).

The pieces of a plan (:func:`circle`, :func:`logbins`,
:func:`average_bins`, :func:`smooth`, :func:`bin_delays`) are defined in
:mod:`ipcf.plan` and importable from here too.

"""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import number_threads, progress_bar
from ._validate import (
    check_any,
    check_bool,
    check_choice,
    check_int,
    check_mask,
    check_positive,
    check_real,
    check_series,
)
from .plan import (
    Plan,
    average_bins,
    bin_delays,
    circle,
    logbins,
    smooth,
    sphere,
    sphere_depth,
)

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

    from .store import Schema

__all__ = [
    'MIN_FRAMES',
    'DuplicatePointsWarning',
    'PcfAnalysis',
    'PcfVolumeAnalysis',
    'average_bins',
    'bin_delays',
    'circle',
    'logbins',
    'pcf_image',
    'smooth',
    'sphere',
]

MIN_FRAMES = 16
"""Fewest frames :func:`pcf_image` accepts."""

MODES = ('circular', 'linear')
"""Correlation modes."""

DIRECTIONS = ('forward', 'both')
"""Directions of a cross-channel pCF."""


def pcf_image(
    data: ArrayLike,
    *,
    neighbour: ArrayLike | None = None,
    directions: str = 'forward',
    radius: int = 6,
    npoints: int | None = 32,
    nbins: int = 32,
    dt: float = 1.0,
    z_ratio: float = 1.0,
    mask: ArrayLike | None = None,
    truncate: bool = True,
    mode: str = 'circular',
    offset: float = 0.0,
    engine: str = 'auto',
    num_threads: int | None = None,
    progress: bool = False,
) -> xarray.DataArray:
    """Return pair-correlation curves of every pixel of an image series.

    Parameters
    ----------
    data : array_like, shape (T, H, W) or (T, Z, H, W)
        Image time series of integer or floating-point intensities: numpy
        array, memmap, h5py or zarr dataset, dask array, or anything that
        slices like one. Read row by row as the engine needs it; not
        modified. A 4-D volume series gives the 3-D pCF: neighbours on a
        sphere (:func:`sphere`) instead of a circle, every voxel a centre.
    neighbour : array_like, shape of `data`, optional
        A second channel of the same shape: circle neighbours come from
        it while centres come from `data` (the cross-channel pCF, with no
        symmetry between points). None correlates `data` with itself.
    directions : {'forward', 'both'}, optional, default: 'forward'
        With `neighbour`: ``'both'`` adds the curves of centres in
        `neighbour` toward circle points in `data`, from the same pairs
        at no extra transform cost, along a ``direction`` dimension.
    radius : int, optional, default: 6
        Circle (or sphere) radius in lateral pixels, at least 1 and below
        ``min(H, W) / 2``.
    npoints : int or None, optional, default: 32
        Number of circle points, see :func:`circle` (sphere points for
        volumes, see :func:`sphere`).
    nbins : int, optional, default: 32
        Number of logarithmic delay bins requested, at least 2; fewer may
        remain, see :func:`logbins`.
    dt : float, optional, default: 1.0
        Frame interval in seconds; delays are reported in its unit.
    z_ratio : float, optional, default: 1.0
        Volumes only: z voxel size over lateral pixel size, > 0. The
        sphere is ``round(radius / z_ratio)`` planes deep (the axial
        halo ``hz``; Z must exceed ``2 * hz``), round in physical units.
        Another value with 3-D data is an error.
    mask : array_like of bool, shape (H, W) or (Z, H, W), optional
        Pixels (voxels) to analyse. Curves of centres outside the mask
        are NaN (their intensities still serve as neighbours).
    truncate : bool, optional, default: True
        Use the first ``N = 2**floor(log2(T))`` frames. Else use all.
    mode : {'circular', 'linear'}, optional
        Circular (default) or zero-padded linear correlation.
    offset : float, optional, default: 0.0
        Camera offset in counts, at least 0 (the constant a camera adds
        to every sample). The fluctuations are unchanged, but the curves
        are normalised by the means less the offset, so that amplitudes
        are physical. Curves of pairs with a pixel whose mean does not
        exceed the offset are NaN.
    engine : {'auto', 'reference', 'cpu', 'gpu'}, optional
        Implementation; all agree within 1e-5. ``'auto'`` picks the
        fastest available. See :func:`ipcf.engines.available`.
    num_threads : int, optional
        Number of threads; ``None`` uses all cores. Also caps BLAS and
        FFT thread pools.
    progress : bool, optional, default: False
        Show a progress bar.

    Returns
    -------
    xarray.DataArray, shape (H - 2r, W - 2r, npoints, nbins'), float32
        Named ``'pcf'`` with dims ``('y', 'x', 'point', 'delay')``
        (``('y', 'x', 'direction', 'point', 'delay')`` for
        ``directions='both'``, with ``direction`` = ``'forward'``, from
        `data` toward `neighbour`, and ``'reverse'``). Coordinates ``y``,
        ``x`` are input pixel indices (the first is `radius`); ``point``
        carries ``u``, ``v``, ``angle`` (radians) and ``distance``
        (pixels); ``delay`` is the mean delay of each bin in seconds.
        ``attrs`` hold every parameter, the frames used, the engine and
        the package version.

        Of a volume: shape ``(Z - 2 hz, H - 2r, W - 2r, npoints,
        nbins')``, dims ``('z', 'y', 'x', 'point', 'delay')`` (with
        ``direction`` after ``x``), ``z`` the input plane indices (the
        first is ``hz``); ``point`` also carries ``w`` (planes) and
        ``polar`` (radians from +z), ``angle`` is the azimuth and
        ``distance`` is ``sqrt(u**2 + v**2 + (w * z_ratio)**2)`` in
        lateral pixels; ``attrs`` add ``z_ratio``.

    Raises
    ------
    TypeError
        If `data` is not numeric, or an option has the wrong type (a
        number given as a string or a bool included).
    ValueError
        If `data` is not 3-D or 4-D, has fewer than 16 frames, contains
        NaN or infinity, `neighbour` has another shape, or an option is
        out of range (the sphere too large for the volume included).

    Notes
    -----
    For centre ``a`` and neighbour ``b`` at circle point ``i``, with
    ``t + tau`` taken modulo ``N``::

        G(tau) = <a(t) b(t + tau)> / (<a> <b>) - 1,   tau = 0 .. N/2 - 1

    A peak at delay ``tau`` means intensity seen at the centre is seen at
    the neighbour ``tau`` later. Linear mode computes
    ``sum_{t < N - tau} da(t) db(t + tau) / (N <a> <b>)`` of the
    mean-subtracted series. Each curve is averaged in log bins and
    smoothed (:func:`average_bins`, :func:`smooth`). Curves of pixels
    whose mean intensity is zero are NaN.

    With a camera offset ``o`` the means in both denominators become
    ``<a> - o`` and ``<b> - o``; the circular curve is then
    ``<da(t) db(t + tau)> / ((<a> - o) (<b> - o))``, which for ``o = 0``
    is the formula above. Curves of pairs with a pixel whose mean is at
    most ``o`` are NaN (never infinite, never of flipped sign).

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 12, 12))
    >>> result = pcf_image(data, radius=2, npoints=8, nbins=8)
    >>> result.shape
    (8, 8, 8, 7)
    >>> result.dims
    ('y', 'x', 'point', 'delay')
    >>> second = numpy.random.default_rng(1).poisson(50, (64, 12, 12))
    >>> both = pcf_image(data, neighbour=second, directions='both',
    ...                  radius=2, npoints=8, nbins=8)
    >>> both.dims, both['direction'].values.tolist()
    (('y', 'x', 'direction', 'point', 'delay'), ['forward', 'reverse'])

    A volume series of 5 planes, z voxels twice the lateral pixel size:

    >>> volume = numpy.random.default_rng(2).poisson(100, (64, 5, 8, 8))
    >>> result = pcf_image(volume, radius=2, npoints=8, nbins=8, z_ratio=2.0)
    >>> result.dims, result.shape
    (('z', 'y', 'x', 'point', 'delay'), (3, 4, 4, 8, 7))
    >>> result['w'].values.tolist()
    [1, 1, 0, 0, -1, -1, 0, 0]

    """
    if not hasattr(data, 'shape') or not hasattr(data, 'dtype'):
        data = numpy.asarray(data)
    options = {
        'radius': radius,
        'npoints': npoints,
        'nbins': nbins,
        'mode': mode,
        'offset': offset,
        'engine': engine,
        'truncate': truncate,
        'cross': neighbour is not None,
        'directions': directions,
    }
    analysis: PcfAnalysis
    if len(data.shape) == 4:
        analysis = PcfVolumeAnalysis(**options, z_ratio=z_ratio)
    else:
        analysis = PcfAnalysis(**options)
        z_ratio = check_positive(z_ratio, 'z_ratio')
        if z_ratio != 1.0:
            msg = (
                f'{z_ratio=} applies to 4-D volume series (T, Z, Y, X); '
                f'data is {len(data.shape)}-D'
            )
            raise ValueError(msg)
    channels, shape = _check_channels(data, neighbour, len(data.shape))
    nframes, *spatial = shape
    analysis.check_shape(*spatial)
    dt = check_positive(dt, 'dt')
    num_threads = number_threads(num_threads)
    if mask is not None:
        mask = check_mask(mask, tuple(spatial))
        inner = tuple(
            slice(h, n - h)
            for h, n in zip(analysis.halo, spatial, strict=True)
        )
        check_any(mask[inner], name='mask')
    plan = analysis.plan(nframes)
    values = analysis.run(
        channels, plan, mask, num_threads=num_threads, progress=progress
    )
    return analysis.result(values, plan, frames_total=nframes, dt=dt)


class PcfAnalysis:
    """The image pCF as an analysis: validated options, plan, schema, run.

    :func:`pcf_image` runs it on a whole image; :func:`ipcf.analyze`
    (:mod:`ipcf.pipeline`) runs it on overlapping blocks of a series on
    disk and stores what :meth:`schema` describes. Options are checked
    when it is made.

    Parameters
    ----------
    radius, npoints, nbins, mode, offset, engine, truncate, directions :
        As for :func:`pcf_image`.
    cross : bool, optional, default: False
        Whether a second channel serves the neighbours.

    Examples
    --------
    >>> analysis = PcfAnalysis(radius=2, npoints=8, nbins=8)
    >>> analysis.halo, analysis.name
    ((2, 2), 'pcf')

    """

    name = 'pcf'
    min_frames = MIN_FRAMES
    _shape_name = 'circle'
    _init_depth = 0  # calls between a subclass's __init__ and this one

    def __init__(
        self,
        *,
        radius: int = 6,
        npoints: int | None = 32,
        nbins: int = 32,
        mode: str = 'circular',
        offset: float = 0.0,
        engine: str = 'auto',
        truncate: bool = True,
        cross: bool = False,
        directions: str = 'forward',
    ) -> None:
        from . import engines

        self.radius = check_int(radius, 'radius', minimum=1)
        self.points = self._neighbours(npoints)
        distinct = len(numpy.unique(self.points, axis=0))
        if distinct < len(self.points):
            warnings.warn(
                f'npoints={len(self.points)} puts only {distinct} distinct '
                f'points on a {self._shape_name} of radius {self.radius}; '
                'the others repeat them (npoints=None chooses a count '
                'without repeats)',
                DuplicatePointsWarning,
                stacklevel=3 + self._init_depth,
            )
        self.nbins = check_int(nbins, 'nbins', minimum=2)
        self.mode = check_choice(mode, 'mode', MODES)
        self.offset = check_real(offset, 'offset', minimum=0.0)
        self.truncate = check_bool(truncate, 'truncate')
        self.cross = check_bool(cross, 'cross')
        self.directions = check_choice(directions, 'directions', DIRECTIONS)
        if self.directions == 'both' and not self.cross:
            msg = "directions='both' needs a second channel; pass neighbour="
            raise ValueError(msg)
        self.engine = engines.get(engine)

    def _neighbours(self, npoints: int | None) -> NDArray[numpy.intp]:
        """Return the neighbour offsets (checked radius and npoints)."""
        return circle(self.radius, npoints)

    @property
    def halo(self) -> tuple[int, ...]:
        """Input pixels needed around a block of result pixels, (y, x)."""
        return (self.radius, self.radius)

    @property
    def nchannels(self) -> int:
        """Inputs the analysis reads: 2 with a neighbour channel."""
        return 2 if self.cross else 1

    def check_shape(self, height: int, width: int) -> None:
        """Raise ValueError if images of this size are too small."""
        if min(height, width) < 3:
            msg = (
                f'{height}x{width} images are too small for a pCF: a circle '
                'of radius 1 needs at least 3x3 pixels'
            )
            raise ValueError(msg)
        if not self.radius < min(height, width) / 2:
            radius = self.radius
            msg = (
                f'{height}x{width} images are too small for {radius=}: it '
                f'must be >= 1 and < {min(height, width) / 2}'
            )
            raise ValueError(msg)

    def frames_used(self, nframes: int) -> int:
        """Return the frames analysed of nframes available."""
        if nframes < MIN_FRAMES:
            msg = (
                f'data has {nframes} frames; at least {MIN_FRAMES} are needed'
            )
            raise ValueError(msg)
        return 2 ** int(math.log2(nframes)) if self.truncate else nframes

    def plan(self, nframes: int) -> Plan:
        """Return the plan for a series of nframes available frames."""
        return Plan.image(
            radius=self.radius,
            npoints=len(self.points),
            nframes=self.frames_used(nframes),
            nbins=self.nbins,
            mode=self.mode,
            cross=self.cross,
            reverse=self.directions == 'both',
            offset=self.offset,
        )

    def parameters(self) -> dict[str, Any]:
        """Return the options that define the analysis (JSON types)."""
        params = {
            'radius': self.radius,
            'npoints': len(self.points),
            'nbins': self.nbins,
            'truncate': self.truncate,
            'mode': self.mode,
            'offset': self.offset,
            'engine': self.engine.NAME,
        }
        if self.cross:
            params.update(cross=True, directions=self.directions)
        return params

    def run(
        self,
        channels: list[Any],
        plan: Plan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
        progress: bool = False,
    ) -> NDArray[numpy.float32]:
        """Return the engine's values ``(directions, y, x, point, bin)``.

        `channels` are checked inputs with the halo; `mask` marks centre
        pixels of the whole input (or None).

        """
        from ._rows import RowReader

        spatial = tuple(int(n) for n in channels[0].shape[1:])
        _check_memory(plan.out_shape(spatial))
        out = numpy.full(plan.out_shape(spatial), numpy.nan, numpy.float32)
        centres = None
        if mask is not None:
            inner = tuple(
                slice(h, n - h)
                for h, n in zip(plan.halo, spatial, strict=True)
            )
            centres = mask[inner]
            if not centres.any():
                return out
        reader = RowReader(channels, plan.nframes)
        total = math.prod(out.shape[:-2])
        bar = progress_bar(total, enable=progress, desc='pCF', unit='px')
        with bar:
            self.engine.compute(
                plan,
                reader,
                out,
                mask=centres,
                num_threads=num_threads,
                progress=bar.update if progress else None,
            )
            bar.update(total - bar.n)
        if centres is not None:
            out[:, ~centres] = numpy.nan
        return out

    def attrs(self, plan: Plan, *, dt: float, **extra: Any) -> dict:
        """Return the result attributes of a run with this plan."""
        return {
            'radius': self.radius,
            'dt': dt,
            'npoints': len(self.points),
            'nbins': self.nbins,
            'frames': plan.nframes,
            **extra,
            'truncate': self.truncate,
            'mode': self.mode,
            'offset': self.offset,
            'engine': self.engine.NAME,
            **(
                {'cross': True, 'directions': self.directions}
                if self.cross
                else {}
            ),
        }

    def coords(
        self, plan: Plan, grid: tuple[int, int], origin: tuple[int, int], dt
    ) -> dict[str, tuple[tuple[str, ...], Any]]:
        """Return the result coordinates (input pixel units, seconds)."""
        u = self.points[:, 0]
        v = self.points[:, 1]
        y0, x0 = origin
        coords = {
            'y': (('y',), numpy.arange(y0, y0 + grid[0])),
            'x': (('x',), numpy.arange(x0, x0 + grid[1])),
            'point': (('point',), numpy.arange(len(self.points))),
            'u': (('point',), u),
            'v': (('point',), v),
            'angle': (('point',), numpy.arctan2(v, u)),
            'distance': (('point',), numpy.hypot(u, v)),
            'delay': (('delay',), bin_delays(plan.edges) * dt),
            'bin_edge': (('delay',), numpy.asarray(plan.edges)),
        }
        if plan.reverse:
            coords['direction'] = (
                ('direction',),
                numpy.array(['forward', 'reverse']),
            )
        return coords

    def dims(self, plan: Plan) -> tuple[str, ...]:
        """Return the dims of the result."""
        if plan.reverse:
            return ('y', 'x', 'direction', 'point', 'delay')
        return ('y', 'x', 'point', 'delay')

    def result(
        self,
        values: NDArray[numpy.float32],
        plan: Plan,
        *,
        dt: float,
        origin: tuple[int, int] | None = None,
        **extra: Any,
    ) -> xarray.DataArray:
        """Return engine values as the labelled result of pcf_image."""
        import xarray

        from . import __version__

        values = _block_layout(values, plan)
        grid = values.shape[: plan.ndim]
        origin = self.halo if origin is None else origin
        coords = self.coords(plan, grid, origin, dt)
        attrs = self.attrs(plan, dt=dt, **extra)
        attrs['version'] = __version__
        return xarray.DataArray(
            values,
            name=self.name,
            dims=self.dims(plan),
            coords=coords,
            attrs=attrs,
        )

    def schema(
        self,
        plan: Plan,
        grid: tuple[int, int],
        origin: tuple[int, int],
        *,
        dt: float,
        **extra: Any,
    ) -> Schema:
        """Return the store schema of a blocked run's result."""
        from . import __version__
        from .store import Schema, Variable

        shape = (*grid, plan.npoints, plan.nbins)
        if plan.reverse:
            shape = (*grid, 2, plan.npoints, plan.nbins)
        attrs = {**self.attrs(plan, dt=dt, **extra), 'version': __version__}
        return Schema(
            {self.name: Variable(self.dims(plan), shape, 'float32')},
            coords=self.coords(plan, grid, origin, dt),
            attrs=attrs,
            name=self.name,
        )

    def compute(
        self,
        channels: list[Any],
        plan: Plan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the stored variables of one block (input with halo)."""
        values = self.run(channels, plan, mask, num_threads=num_threads)
        return {self.name: _block_layout(values, plan)}


class PcfVolumeAnalysis(PcfAnalysis):
    """The 3-D pCF of a volume series: neighbours on a sphere.

    :func:`pcf_image` runs it on 4-D data ``(T, Z, Y, X)``; every engine
    computes its :meth:`ipcf.plan.Plan.volume` plan (all but the
    reference engine plane by plane, :mod:`ipcf.engines._volume`).

    Parameters
    ----------
    radius, npoints, nbins, mode, offset, engine, truncate, directions, \
z_ratio :
        As for :func:`pcf_image` with volume data.
    cross : bool, optional, default: False
        Whether a second channel serves the neighbours.

    Examples
    --------
    >>> analysis = PcfVolumeAnalysis(radius=2, npoints=8, z_ratio=2.0)
    >>> analysis.halo, analysis.points.shape
    ((1, 2, 2), (8, 3))

    """

    _shape_name = 'sphere'
    _init_depth = 1

    def __init__(self, *, z_ratio: float = 1.0, **options: Any) -> None:
        self.z_ratio = check_positive(z_ratio, 'z_ratio')
        super().__init__(**options)

    def _neighbours(self, npoints: int | None) -> NDArray[numpy.intp]:
        return sphere(self.radius, npoints, z_ratio=self.z_ratio)

    @property
    def halo(self) -> tuple[int, ...]:
        """Input voxels needed around a block of result voxels, (z, y, x)."""
        return (sphere_depth(self.radius, self.z_ratio), *super().halo)

    def check_shape(self, *shape: int) -> None:
        """Raise ValueError if volumes of this shape are too small."""
        depth, height, width = shape
        super().check_shape(height, width)
        hz = self.halo[0]
        if not depth > 2 * hz:
            radius, z_ratio = self.radius, self.z_ratio
            msg = (
                f'volumes of {depth} planes are too few for {radius=} with '
                f'{z_ratio=}: the sphere reaches {hz} planes up and down, '
                f'so more than {2 * hz} planes are needed'
            )
            raise ValueError(msg)

    def plan(self, nframes: int) -> Plan:
        """Return the plan for a series of nframes available frames."""
        return Plan.volume(
            radius=self.radius,
            npoints=len(self.points),
            nframes=self.frames_used(nframes),
            nbins=self.nbins,
            z_ratio=self.z_ratio,
            mode=self.mode,
            cross=self.cross,
            reverse=self.directions == 'both',
            offset=self.offset,
        )

    def parameters(self) -> dict[str, Any]:
        """Return the options that define the analysis (JSON types)."""
        return {**super().parameters(), 'z_ratio': self.z_ratio}

    def attrs(self, plan: Plan, *, dt: float, **extra: Any) -> dict:
        """Return the result attributes of a run with this plan."""
        return {**super().attrs(plan, dt=dt, **extra), 'z_ratio': self.z_ratio}

    def coords(
        self,
        plan: Plan,
        grid: tuple[int, ...],
        origin: tuple[int, ...],
        dt: float,
    ) -> dict[str, tuple[tuple[str, ...], Any]]:
        """Return the result coordinates (input voxel units, seconds)."""
        coords = super().coords(plan, grid[1:], origin[1:], dt)
        u, v, w = (self.points[:, k] for k in range(3))
        height = w * self.z_ratio
        distance = numpy.sqrt(u * u + v * v + height * height)
        z0 = origin[0]
        more = {
            'z': (('z',), numpy.arange(z0, z0 + grid[0])),
            'w': (('point',), w),
            'polar': (('point',), numpy.arccos(height / distance)),
            'distance': (('point',), distance),
        }
        order = ('z', 'y', 'x', 'point', 'u', 'v', 'w', 'angle', 'polar')
        names = [*order, *(k for k in coords if k not in order)]
        coords.update(more)
        return {k: coords[k] for k in names}

    def dims(self, plan: Plan) -> tuple[str, ...]:
        """Return the dims of the result."""
        return ('z', *super().dims(plan))


class DuplicatePointsWarning(UserWarning):
    """More circle points were asked for than the circle has pixels."""


def _check_memory(shape: tuple[int, ...]) -> None:
    """Refuse a float32 result larger than this machine's memory."""
    nbytes = math.prod(shape) * 4
    try:
        total = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (AttributeError, ValueError, OSError):  # pragma: no cover
        return
    if nbytes > total:
        msg = (
            f'the result {shape} would take {nbytes / 1e9:.3g} GB, more '
            f'than the {total / 1e9:.3g} GB of memory here; ask for fewer '
            'points or bins, or write it to disk with ipcf.analyze'
        )
        raise ValueError(msg)


def _inner(halo: tuple[int, ...], shape: Any) -> tuple[slice, ...]:
    """Return the slices of the result grid in an input of spatial shape."""
    return tuple(slice(h, n - h) for h, n in zip(halo, shape, strict=True))


def _block_layout(values: NDArray, plan: Plan) -> NDArray:
    """Return engine values in the result's dim order."""
    if plan.reverse:
        return numpy.moveaxis(values, 0, plan.ndim)
    return values[0]


def _check_channels(
    data: Any, neighbour: Any, ndim: int = 3
) -> tuple[list[Any], tuple[int, ...]]:
    """Return the checked inputs and their shape."""
    if ndim == 4:
        axes = '(frames, depth, height, width)'
    else:
        ndim = 3
        axes = '(frames, height, width) or 4-D (frames, depth, height, width)'
    data, shape = check_series(
        data, ndim=ndim, axes=axes, min_frames=MIN_FRAMES
    )
    channels = [data]
    if neighbour is not None:
        neighbour, other = check_series(
            neighbour,
            name='neighbour',
            ndim=ndim,
            axes=axes,
            min_frames=MIN_FRAMES,
        )
        if other != shape:
            msg = f'neighbour.shape={other} does not match data.shape={shape}'
            raise ValueError(msg)
        channels.append(neighbour)
    return channels, shape
