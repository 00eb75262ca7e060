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
(:func:`ipcf.analyze`); :class:`PcfChannelsAnalysis` runs it on every
channel of a file and every ordered pair of channels at once.

Given a labelled series (:func:`ipcf.open_series`) or a path,
:func:`pcf_image` takes the frame interval, the pixel size and the PSF
radius from the file's metadata where they are not given, and the result
records where each came from (``attrs['units_source']``).

The pieces of a plan (:func:`circle`, :func:`logbins`,
:func:`average_bins`, :func:`smooth`, :func:`bin_delays`) are defined in
:mod:`ipcf.plan` and importable from here too.

"""

from __future__ import annotations

import dataclasses
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
    'ChannelPlans',
    'DuplicatePointsWarning',
    'PcfAnalysis',
    'PcfChannelsAnalysis',
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
    dt: float | None = None,
    pixel_size: float | None = None,
    psf_radius: float | None = None,
    z_ratio: float | None = None,
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
    data : array_like, shape (T, H, W) or (T, Z, H, W), Series or path
        Image time series of integer or floating-point intensities: numpy
        array, memmap, h5py or zarr dataset, dask array, or anything that
        slices like one. Read row by row as the engine needs it; not
        modified. A 4-D volume series gives the 3-D pCF: neighbours on a
        sphere (:func:`sphere`) instead of a circle, every voxel a centre.
        A labelled series of one channel (:func:`ipcf.open_series`, dims
        ``('T', 'Y', 'X')`` or ``('T', 'Z', 'Y', 'X')``) or a path that
        it opens also brings its units (see `dt`, `pixel_size`).
    neighbour : array_like, Series or path, shape of `data`, optional
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
    dt : float, optional
        Frame interval in seconds, > 0; delays are reported in its unit.
        None (default) takes the frame interval that the file of a
        labelled series or path declares, else 1.
    pixel_size, psf_radius : float, optional
        Pixel size and 1/e² PSF radius in µm, > 0, recorded in ``attrs``
        for the maps, plots and report (the curves do not depend on
        them). None (default) takes them from the file's metadata where
        it has them (ipcf's simulations record both), else records none.
    z_ratio : float, optional
        Volumes only: z voxel size over lateral pixel size, > 0. The
        sphere is ``round(radius / z_ratio)`` planes deep (the axial
        halo ``hz``; Z must exceed ``2 * hz``), round in physical units.
        None (default) takes ``pixel_size_z / pixel_size`` of the file
        where both are known (`pixel_size` given wins over the file's),
        else 1. Another value than 1 with 3-D data is an error.
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
        the package version, the ``pixel_size`` and ``psf_radius`` where
        known, and ``units_source``: for ``dt``, ``pixel_size``,
        ``psf_radius`` (and ``z_ratio`` of a volume) whether it came
        from the ``'argument'``, the ``'file'`` or the ``'default'``.

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

    Of a file, the units come from its metadata:

    >>> import tempfile, tifffile
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = f'{tmp.name}/cell.ome.tif'
    >>> tifffile.imwrite(path, data.astype('uint16'), metadata={
    ...     'axes': 'TYX', 'PhysicalSizeX': 0.1, 'PhysicalSizeY': 0.1,
    ...     'TimeIncrement': 0.002, 'TimeIncrementUnit': 's'})
    >>> result = pcf_image(path, radius=2, npoints=8, nbins=8)
    >>> result.attrs['dt'], result.attrs['pixel_size']
    (0.002, 0.1)
    >>> result.attrs['units_source']
    {'dt': 'file', 'pixel_size': 'file'}
    >>> tmp.cleanup()

    """
    data, found = _open_input(data, 'data')
    if neighbour is not None:
        neighbour, _ = _open_input(neighbour, 'neighbour')
    units, units_source = _resolve_units(
        found, dt=dt, pixel_size=pixel_size, psf_radius=psf_radius
    )
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
        if z_ratio is not None:
            units_source['z_ratio'] = 'argument'
        elif found.get('pixel_size_z') and units.get('pixel_size'):
            z_ratio = found['pixel_size_z'] / units['pixel_size']
            units_source['z_ratio'] = 'file'
        else:
            z_ratio = 1.0
            units_source['z_ratio'] = 'default'
        analysis = PcfVolumeAnalysis(**options, z_ratio=z_ratio)
    else:
        analysis = PcfAnalysis(**options)
        z_ratio = check_positive(
            1.0 if z_ratio is None else z_ratio, 'z_ratio'
        )
        if z_ratio != 1.0:
            msg = (
                f'{z_ratio=} applies to 4-D volume series (T, Z, Y, X); '
                f'data is {len(data.shape)}-D'
            )
            raise ValueError(msg)
    channels, shape = _check_channels(data, neighbour, len(data.shape))
    nframes, *spatial = shape
    analysis.check_shape(*spatial)
    dt = units.pop('dt')
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
    return analysis.result(
        values,
        plan,
        frames_total=nframes,
        dt=dt,
        **units,
        units_source=units_source,
    )


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
    def pulls_rows(self) -> bool:
        """Whether the engine pulls rows as it goes (the cpu engine).

        The pipeline then hands it several blocks at once, read a slab of
        rows at a time; the other engines read a block whole and get one.
        """
        return self.engine.NAME == 'cpu'

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
        stages: Any = None,
    ) -> NDArray[numpy.float32]:
        """Return the engine's values ``(directions, y, x, point, bin)``.

        `channels` are checked inputs with the halo; `mask` marks centre
        pixels of the whole input (or None); `stages` (an
        :class:`ipcf._stages.StageTimes`) gets the seconds of the steps
        of engines that time them (cpu).

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
        # only the cpu engine times its steps
        timing = {'stages': stages} if self.engine.NAME == 'cpu' else {}
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
                **timing,
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
        stages: Any = None,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the stored variables of one block (input with halo)."""
        values = self.run(
            channels, plan, mask, num_threads=num_threads, stages=stages
        )
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
    def pulls_rows(self) -> bool:
        """Volumes are handed to the engines block by block, whole."""
        return False

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


@dataclasses.dataclass(frozen=True)
class ChannelPlans:
    """The plans of a :class:`PcfChannelsAnalysis`: autos and pairs."""

    auto: Plan
    """Plan of the pCF of each channel."""
    pair: Plan | None
    """Plan of the cross pCF of two channels, both directions; or None."""

    @property
    def nframes(self) -> int:
        """Frames analysed."""
        return self.auto.nframes


class PcfChannelsAnalysis:
    """The pCF of each channel and the cross pCF of each channel pair.

    What :func:`ipcf.analyze` runs on a file of several channels: the
    pipeline hands it one input per channel (each bleach-corrected on
    its own) and it returns, for every centre pixel, the curves of every
    ordered channel pair ``(channel, neighbour_channel)``: centres in
    ``channel``, circle points in ``neighbour_channel``. The diagonal
    holds each channel's own pCF (:func:`pcf_image` of it), the others
    the cross pCF (:func:`pcf_image` with ``neighbour=``). Both
    directions of a pair come from one pass over its pixel pairs
    (``directions='both'``).

    Parameters
    ----------
    channels : sequence of int
        The channels' indices in the file, in the order of the inputs:
        the ``channel`` and ``neighbour_channel`` coordinates.
    names : sequence of str, optional
        Their names, as the file gives them: coordinates
        ``channel_name`` and ``neighbour_channel_name``.
    cross : bool, optional, default: True
        Also the cross pCF of every ordered pair; needs two or more
        channels. Without it, the result has no ``neighbour_channel``
        dim.
    radius, npoints, nbins, mode, offset, engine, truncate :
        As for :func:`pcf_image`.

    Examples
    --------
    >>> analysis = PcfChannelsAnalysis([0, 1], radius=2, npoints=8)
    >>> analysis.nchannels, analysis.dims(analysis.plan(64))
    (2, ('y', 'x', 'channel', 'neighbour_channel', 'point', 'delay'))

    """

    name = 'pcf'
    min_frames = MIN_FRAMES

    def __init__(
        self,
        channels: Any,
        *,
        names: Any = None,
        cross: bool = True,
        **options: Any,
    ) -> None:
        self.channels = tuple(
            check_int(c, 'channels', minimum=0) for c in channels
        )
        if not self.channels:
            msg = 'channels= is empty; give the index of each channel'
            raise ValueError(msg)
        self.names = None
        if names:
            self.names = tuple(str(n) for n in names)
            if len(self.names) != len(self.channels):
                msg = (
                    f'{len(self.names)} names were given for '
                    f'{len(self.channels)} channels'
                )
                raise ValueError(msg)
        self.cross = check_bool(cross, 'cross')
        if self.cross and len(self.channels) < 2:
            msg = (
                'cross=True needs two or more channels; the selection has '
                f'{len(self.channels)}'
            )
            raise ValueError(msg)
        for option in ('cross', 'directions'):
            if option in options:
                msg = f'{option}= is not an option of the channel analysis'
                raise TypeError(msg)
        self.auto = PcfAnalysis(**options)
        self.pair = None
        if self.cross:
            self.pair = PcfAnalysis(**options, cross=True, directions='both')

    @property
    def halo(self) -> tuple[int, ...]:
        """Input pixels needed around a block of result pixels, (y, x)."""
        return self.auto.halo

    @property
    def nchannels(self) -> int:
        """Inputs the analysis reads: one per channel."""
        return len(self.channels)

    def check_shape(self, height: int, width: int) -> None:
        """Raise ValueError if images of this size are too small."""
        self.auto.check_shape(height, width)

    def plan(self, nframes: int) -> ChannelPlans:
        """Return the plans for series of nframes available frames."""
        pair = None if self.pair is None else self.pair.plan(nframes)
        return ChannelPlans(self.auto.plan(nframes), pair)

    def parameters(self) -> dict[str, Any]:
        """Return the options that define the analysis (JSON types)."""
        return {
            **self.auto.parameters(),
            'channel': list(self.channels),
            'cross': self.cross,
        }

    def dims(self, plan: ChannelPlans) -> tuple[str, ...]:
        """Return the dims of the result."""
        pair = ('channel', 'neighbour_channel') if self.cross else ('channel',)
        return ('y', 'x', *pair, 'point', 'delay')

    def coords(
        self,
        plan: ChannelPlans,
        grid: tuple[int, int],
        origin: tuple[int, int],
        dt: float,
    ) -> dict[str, tuple[tuple[str, ...], Any]]:
        """Return the result coordinates, with the channels'."""
        coords = self.auto.coords(plan.auto, grid, origin, dt)
        indices = numpy.asarray(self.channels, dtype=numpy.intp)
        more: dict[str, tuple[tuple[str, ...], Any]] = {
            'channel': (('channel',), indices)
        }
        if self.names is not None:
            more['channel_name'] = (('channel',), numpy.asarray(self.names))
        if self.cross:
            more['neighbour_channel'] = (('neighbour_channel',), indices)
            if self.names is not None:
                more['neighbour_channel_name'] = (
                    ('neighbour_channel',),
                    numpy.asarray(self.names),
                )
        names = ['y', 'x', *more, *(k for k in coords if k not in 'yx')]
        coords.update(more)
        return {k: coords[k] for k in names}

    def schema(
        self,
        plan: ChannelPlans,
        grid: tuple[int, int],
        origin: tuple[int, int],
        *,
        dt: float,
        **extra: Any,
    ) -> Schema:
        """Return the store schema of a blocked run's result."""
        from . import __version__
        from .store import Schema, Variable

        count = len(self.channels)
        pairs = (count, count) if self.cross else (count,)
        shape = (*grid, *pairs, plan.auto.npoints, plan.auto.nbins)
        attrs = {
            **self.auto.attrs(plan.auto, dt=dt, **extra),
            'cross': self.cross,
            'version': __version__,
        }
        return Schema(
            {self.name: Variable(self.dims(plan), shape, 'float32')},
            coords=self.coords(plan, grid, origin, dt),
            attrs=attrs,
            name=self.name,
        )

    def compute(
        self,
        channels: list[Any],
        plan: ChannelPlans,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the stored variables of one block (inputs with halo)."""
        autos = [
            self.auto.run([data], plan.auto, mask, num_threads=num_threads)[0]
            for data in channels
        ]
        if not self.cross:
            return {self.name: numpy.stack(autos, axis=2)}
        count = len(channels)
        ny, nx, npoints, nbins = autos[0].shape
        out = numpy.empty(
            (ny, nx, count, count, npoints, nbins), numpy.float32
        )
        for c, values in enumerate(autos):
            out[:, :, c, c] = values
        for i in range(count):
            for j in range(i + 1, count):
                # one pass: centres in i toward j, and in j toward i
                both = self.pair.run(  # type: ignore[union-attr]
                    [channels[i], channels[j]],
                    plan.pair,  # type: ignore[arg-type]
                    mask,
                    num_threads=num_threads,
                )
                out[:, :, i, j] = both[0]
                out[:, :, j, i] = both[1]
        return {self.name: out}


class DuplicatePointsWarning(UserWarning):
    """More circle points were asked for than the circle has pixels."""


def _open_input(data: Any, name: str) -> tuple[Any, dict[str, float]]:
    """Return the array to analyse and the units its file declares.

    A path is opened as a labelled series; a labelled series gives its
    plane reader (or itself, of a volume) and its metadata's units.
    Arrays give no units.
    """
    if isinstance(data, numpy.ndarray):
        return data, {}
    from .io import Series, open_series

    if _is_path_like(data):
        data = open_series(data)
    if isinstance(data, Series):
        if 'C' in data.dims:
            msg = (
                f'{name} has dims {data.dims}; select one channel, e.g. '
                'ipcf.open_series(path, channel=0), or analyse every '
                'channel with ipcf.analyze'
            )
            raise ValueError(msg)
        found = _series_units(data.metadata)
        return (data.data if data.ndim == 3 else data), found
    if not hasattr(data, 'shape') or not hasattr(data, 'dtype'):
        data = numpy.asarray(data)
    return data, {}


def _file_units(source: Any) -> dict[str, float]:
    """Return the units the file of a source declares (none of arrays)."""
    from .io import Series, read_metadata
    from .io.series import SeriesMetadata

    if isinstance(source, Series):
        return _series_units(source.metadata)
    if not _is_path_like(source):
        return {}
    try:
        found = read_metadata(source)
    except (OSError, ValueError, TypeError):
        return {}
    return _series_units(SeriesMetadata.from_dict(found or {}))


def _series_units(metadata: Any) -> dict[str, float]:
    """Return the positive units of a SeriesMetadata record."""
    from ._sources import physical_units

    found = {
        'frame_interval': metadata.frame_interval,
        'pixel_size': metadata.pixel_size,
        'pixel_size_z': metadata.pixel_size_z,
        'psf_radius': physical_units(metadata.stored)['psf_radius'],
    }
    return {
        k: float(v)
        for k, v in found.items()
        if v is not None and math.isfinite(v) and v > 0
    }


def _resolve_units(
    found: dict[str, float],
    *,
    dt: Any,
    pixel_size: Any,
    psf_radius: Any,
) -> tuple[dict[str, float], dict[str, str]]:
    """Return the units of a result and where each came from.

    Given values win over the file's; `dt` falls back to 1 frame.
    Unknown pixel size and PSF radius are left out.
    """
    units: dict[str, float] = {}
    where: dict[str, str] = {}
    for name, given, key, default in (
        ('dt', dt, 'frame_interval', 1.0),
        ('pixel_size', pixel_size, 'pixel_size', None),
        ('psf_radius', psf_radius, 'psf_radius', None),
    ):
        if given is not None:
            units[name] = check_positive(given, name)
            where[name] = 'argument'
        elif key in found:
            units[name] = found[key]
            where[name] = 'file'
        elif default is not None:
            units[name] = default
            where[name] = 'default'
    return units, where


def _is_path_like(source: Any) -> bool:
    """Return whether source names files (a path or a list of paths)."""
    if isinstance(source, str | os.PathLike):
        return True
    return (
        isinstance(source, list | tuple)
        and bool(source)
        and all(isinstance(s, str | os.PathLike) for s in source)
    )


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
