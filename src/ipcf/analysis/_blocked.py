"""Maps of a result in blocks of rows: bounded memory, written as made.

:func:`blocked_maps` runs the steps of :func:`ipcf.maps` over blocks of
rows of the result grid, each read as float32 with a halo of rows for
the box average and held in float64 alone. The steps that see the whole
map go first: the pooled means (:class:`_Pool`, pixels added in the
order of the whole map) and the noise level, whose median is selected
exactly from the differences' bit patterns (:class:`_Median`) in a few
passes. Then every block's maps go to a sink: :class:`MemorySink`
collects them into the Dataset, :class:`StoreSink` writes them into a
result store published when complete (:class:`ipcf.store.ResultWriter`).

:func:`maps_of_store` is what :func:`ipcf.maps` runs on the path of a
store, :func:`write_maps` the public writer.

"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_bool, check_int
from ._diffusion import pooled as finish_pool
from ._maps import (
    MapSetup,
    map_dataset,
    map_schema,
    pixel_maps,
    prepare_curves,
    prepare_maps,
)
from ._peaks import noise_level
from ._result import check_result

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    'MemorySink',
    'StoreSink',
    'blocked_maps',
    'maps_of_store',
    'open_stored',
    'write_maps',
]

_BLOCK_VALUES = 2**22
"""Curve values of a block by default (32 MB in float64)."""

_KEEP = 2**22
"""Most difference values the median keeps at once, over all bins."""

_BITS = 16
"""Bits of the bit pattern that each pass of the median histograms."""

_TOP = 63
"""Bits of the pattern of a non-negative float64 (the sign bit is 0)."""


def write_maps(
    result: xarray.DataArray | str | os.PathLike[str],
    output: str | os.PathLike[str],
    /,
    *,
    pixel_size: float | None = None,
    w: float | None = None,
    mask: ArrayLike | None = None,
    window: int = 1,
    threshold: float = 2.0,
    diffusion_range: tuple[float, float] | None = None,
    pixel_size_z: float | None = None,
    w_z: float | None = None,
    rows: int | None = None,
    z: int | Sequence[int] | None = None,
    channel: int | Sequence[int] | None = None,
    neighbour_channel: int | Sequence[int] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the maps of a pCF result to a store, block by block.

    Parameters
    ----------
    result : xarray.DataArray, str or path-like
        pCF result, or the path of a result store holding one (group
        ``pcf``), as for :func:`ipcf.maps`; a stored image result is
        read in blocks of `rows`, never whole.
    output : str or path-like
        Maps file: ``.h5`` (``.hdf5``, ``.hdf``) or ``.zarr``, group
        ``maps``, written block by block; ``.nc`` (netCDF-3) is written
        at once from the maps made in memory.
    pixel_size, w, mask, window, threshold, diffusion_range : optional
        As for :func:`ipcf.maps`.
    pixel_size_z, w_z : float, optional
        Volumes only, as for :func:`ipcf.maps` (maps of volumes are
        made in memory, then written).
    rows : int, optional
        Rows of the result per block (>= 1); None (default) takes about
        64 MB of curves per block.
    z, channel, neighbour_channel : int or sequence of int, optional
        Of a result of several planes or channels: those to map, as for
        :func:`ipcf.maps` (default all). One plane and channel pair of
        the stored result is read at a time, a block of rows of it.
    overwrite : bool, optional, default: False
        Replace an existing `output`. Otherwise raise FileExistsError.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        If `output` exists and `overwrite` is False.
    TypeError, ValueError
        As :func:`ipcf.maps`; for an unknown suffix of `output`, or an
        `output` that is the stored `result`.

    Notes
    -----
    The file holds what :func:`ipcf.analysis.save_maps` writes of
    ``ipcf.maps(result, ...)``, provenance included. It is built under
    a hidden name beside `output` and renamed when complete; the maps
    of each block are written when made, so memory holds one block of
    curves (plus the pooled sums, a few MB), not the maps.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> sim = ipcf.simulate.free(shape=(2048, 20, 20), seed=0)
    >>> result = ipcf.pcf_image(sim.data, radius=4, npoints=8, dt=1e-3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     stored = ipcf.store.save_result(result, f'{tmp}/result.h5')
    ...     path = write_maps(stored, f'{tmp}/maps.h5', pixel_size=0.1,
    ...                       w=0.25, rows=5)
    ...     out = ipcf.analysis.load_maps(path)
    >>> out['D'].shape
    (12, 12)

    """
    from .._files import check_not_input, check_target, store_kind
    from ._maps import maps
    from ._store import save_maps

    output = Path(output)
    overwrite = check_bool(overwrite, 'overwrite')
    kind = store_kind(output, kinds=('hdf5', 'zarr', 'netcdf'))
    options = {
        'pixel_size': pixel_size,
        'w': w,
        'mask': mask,
        'window': window,
        'threshold': threshold,
        'diffusion_range': diffusion_range,
        'pixel_size_z': pixel_size_z,
        'w_z': w_z,
    }
    if rows is not None:
        rows = check_int(rows, 'rows', minimum=1)
    check_target(output, overwrite=overwrite)  # refuse before the work
    if isinstance(result, str | os.PathLike):
        check_not_input(output, [result])
    selection = {
        'z': z,
        'channel': channel,
        'neighbour_channel': neighbour_channel,
    }
    if kind == 'netcdf':  # one Dataset, written at once
        out = maps(result, rows=rows, **selection, **options)
        return save_maps(out, output, overwrite=overwrite)
    with contextlib.ExitStack() as stack:
        if isinstance(result, str | os.PathLike):
            skeleton, array = stack.enter_context(open_stored(result))
        else:
            skeleton, array = result, getattr(result, 'data', None)
        return _maps_of(
            skeleton,
            array,
            selection,
            rows=rows,
            options=options,
            output=output,
            overwrite=overwrite,
        )


def maps_of_store(
    path: str | os.PathLike[str],
    /,
    *,
    rows: int | None,
    selection: dict[str, Any] | None = None,
    **options: Any,
) -> xarray.Dataset:
    """Return :func:`ipcf.maps` of the result stored at path.

    An image result is read in blocks of `rows`, one plane and channel
    pair at a time; a volume is loaded. `selection` holds the labels of
    the planes and channels to map (``z``, ``channel``,
    ``neighbour_channel``; None: all).

    """
    with open_stored(path) as (skeleton, array):
        return _maps_of(
            skeleton, array, selection or {}, rows=rows, options=options
        )


def _maps_of(
    skeleton: Any,
    array: Any,
    selection: dict[str, Any],
    *,
    rows: int | None,
    options: dict[str, Any],
    output: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> Any:
    """Return the maps of a result's array in blocks, or write them.

    `skeleton` gives the labels, `array` the values (sliced by rows);
    with `output` the maps go to that store and its path is returned.

    """
    from ._maps import check_result_kind, maps
    from ._select import restrict, selection_dims
    from ._selections import _View, placeholder, stored_maps

    check_result_kind(skeleton)
    indexers = restrict(skeleton, **selection)
    sub = placeholder(skeleton, indexers)
    if selection_dims(sub) and 'w' not in sub.coords:
        return stored_maps(
            skeleton,
            array,
            indexers,
            rows=rows,
            output=output,
            overwrite=overwrite,
            **options,
        )
    info = check_result(sub)
    if info['volume']:
        if rows is not None:
            msg = f'{rows=} applies to results of images only'
            raise ValueError(msg)
        whole = skeleton
        if isinstance(array, _Rows):  # stored: load the volume
            from ..store import load_result

            whole = load_result(skeleton.encoding['store'])
        out = maps(whole.isel(indexers) if indexers else whole, **options)
        if output is None:
            return out
        from ._store import save_maps

        return save_maps(out, output, overwrite=overwrite)
    if indexers:  # one plane and channel pair of several
        array = _View(array, skeleton.dims, indexers)
    setup = prepare_maps(sub, info, **options)
    if output is None:
        sink: Any = MemorySink(sub, setup)
    else:
        sink = StoreSink(output, sub, setup, overwrite=overwrite)
    blocked_maps(array, setup, rows=rows, sink=sink)
    return sink.dataset() if output is None else Path(output)


@contextlib.contextmanager
def open_stored(
    path: str | os.PathLike[str], /, *, group: str = 'pcf'
) -> Iterator[tuple[xarray.DataArray, Any]]:
    """Yield a stored result's labels and its array, open, unread.

    The first is the result as :func:`ipcf.load_result` returns it but
    with read-only placeholder values (zeros of no memory): its
    coordinates, attributes and ``encoding`` are the stored ones. The
    second is the stored array (h5py or zarr), read by slicing.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the suffix is not a store's, or `group` is not a complete
        ipcf result of one array.

    """
    from .._containers import open_root
    from .._files import store_kind

    path = Path(path)
    kind = store_kind(path, kinds=('hdf5', 'zarr'), name='store')
    if not path.exists():
        msg = f'{str(path)!r}: no such file'
        raise FileNotFoundError(msg)
    with contextlib.ExitStack() as stack:
        try:
            root = stack.enter_context(open_root(path, kind))
            skeleton, array = _labels(root, path, group)
        except (ImportError, MemoryError, ValueError):
            raise
        except Exception as exc:  # noqa: BLE001 - name the store
            text = ' '.join(str(exc).split()) or type(exc).__name__
            if str(path) in text:
                raise
            msg = f'{str(path)!r}: cannot read the result ({text})'
            raise OSError(msg) from exc
        yield skeleton, array


class _Rows:
    """A stored array read by slicing; a failure names store and array."""

    def __init__(self, array: Any, where: str) -> None:
        self._array = array
        self._where = where
        self.shape = tuple(int(n) for n in array.shape)
        self.dtype = array.dtype

    def __getitem__(self, key: Any) -> NDArray:
        try:
            return self._array[key]
        except Exception as exc:  # noqa: BLE001 - name the broken array
            msg = f'{self._where} ({exc})'
            raise OSError(msg) from None


def _labels(root: Any, path: Path, group: str) -> tuple[Any, _Rows]:
    """Return the labels of a stored result and its rows (unread)."""
    import xarray

    from .._containers import get_json
    from ..store import _FORMAT, _RECORD

    if group not in root:
        msg = f'{str(path)!r} has no result group {group!r}'
        raise ValueError(msg)
    grp = root[group]
    record = get_json(grp, _RECORD)
    if not record or record.get('format') != _FORMAT:
        msg = f'{str(path)!r}: group {group!r} is not an ipcf result'
        raise ValueError(msg)
    if not record.get('complete'):
        msg = f'{str(path)!r}: result {group!r} is incomplete'
        raise ValueError(msg)
    if record.get('kind') != 'DataArray':
        msg = f'{str(path)!r}: group {group!r} holds no pCF result'
        raise ValueError(msg)
    texts = record.get('texts', {})
    coords = {}
    for key in record['coords']:
        if key in texts:
            dims, values, attrs = record['text_dims'][key], texts[key], {}
        else:
            array = grp[key]
            dims = get_json(array, 'dims')
            values, attrs = array[...], get_json(array, 'attrs', {})
        coords[key] = xarray.Variable(
            tuple(dims), numpy.asarray(values), attrs=attrs
        )
    name = record['name']
    array = grp[name]
    values = numpy.broadcast_to(
        numpy.zeros((), array.dtype), tuple(array.shape)
    )
    skeleton = xarray.DataArray(
        values,
        dims=tuple(get_json(array, 'dims')),
        coords=coords,
        attrs=dict(record['attrs']),
        name=name,
    )
    skeleton.encoding['provenance'] = record.get('provenance', {})
    skeleton.encoding['store'] = str(path)
    return skeleton, _Rows(array, f'{str(path)!r}: cannot read {group}/{name}')


class MemorySink:
    """Collect the maps of blocks into the Dataset of :func:`ipcf.maps`."""

    def __init__(self, result: Any, setup: MapSetup) -> None:
        self._result = result
        self._setup = setup
        schema = map_schema(result, setup)
        self._values = {
            key: numpy.full(var.shape, numpy.nan, var.dtype)
            if var.dtype.kind == 'f'
            else numpy.zeros(var.shape, var.dtype)
            for key, var in schema.data_vars.items()
        }
        self._pooled: dict[str, Any] | None = None

    def start(self, pooled: dict[str, Any], noise: NDArray) -> None:
        """Take what the whole map gave: the pooled fit and the noise."""
        self._pooled = pooled
        self._values['noise'][...] = noise

    def write(self, values: dict[str, NDArray], y: int) -> None:
        """Keep the maps of a block of rows starting at row y."""
        for key, block in values.items():
            self._values[key][y : y + len(block)] = block

    def finish(self) -> None:
        """Nothing to close."""

    def abort(self) -> None:
        """Nothing to remove."""

    def dataset(self) -> xarray.Dataset:
        """Return the maps."""
        return map_dataset(
            self._result, self._setup, self._values, self._pooled
        )


class StoreSink:
    """Write the maps of blocks into a result store as they come.

    The store is created by :meth:`start` (when the attributes are
    known) under a hidden name and published by :meth:`finish`.

    """

    def __init__(
        self,
        output: str | os.PathLike[str],
        result: Any,
        setup: MapSetup,
        *,
        overwrite: bool = False,
    ) -> None:
        from .._files import check_target

        self._output = Path(output)
        check_target(self._output, overwrite=overwrite)  # before the work
        self._overwrite = overwrite
        self._result = result
        self._setup = setup
        self._writer: Any = None

    def start(self, pooled: dict[str, Any], noise: NDArray) -> None:
        """Create the store with the maps' attributes; write the noise."""
        self._open(map_schema(self._result, self._setup, pooled))
        self._writer.write({'noise': noise})

    def _open(self, placeholder: xarray.Dataset) -> None:
        """Create the hidden store of maps laid out as placeholder."""
        from ..store import ResultWriter, Schema
        from ._store import GROUP, _provenance

        self._writer = ResultWriter(
            self._output,
            Schema.of(placeholder),
            group=GROUP,
            overwrite=self._overwrite,
            provenance=_provenance(placeholder),
        )

    def write(self, values: dict[str, NDArray], y: int) -> None:
        """Write the maps of a block of rows starting at row y."""
        self._writer.write(values, y=y)

    def finish(self) -> None:
        """Publish the store."""
        self._writer.commit()

    def abort(self) -> None:
        """Remove the unfinished store."""
        if self._writer is not None:
            self._writer.abort()


def blocked_maps(
    array: Any, setup: MapSetup, /, *, rows: int | None, sink: Any
) -> None:
    """Make the maps of a result array in blocks of rows, into sink.

    Parameters
    ----------
    array : array_like, shape (ny, nx, npoints, nbins)
        The result's values: a numpy, h5py or zarr array, sliced by
        rows (read as stored, float32, and converted a block at once).
    setup : MapSetup
        From :func:`._maps.prepare_maps` of the result.
    rows : int or None
        Rows per block; None takes about 2**22 curve values.
    sink : MemorySink or StoreSink
        Gets ``start(pooled, noise)``, then ``write(values, y)`` per
        block, then ``finish()`` (``abort()`` on an exception).

    """
    ny, nx, npoints, nbins = (int(n) for n in array.shape)
    if rows is None:
        rows = max(1, _BLOCK_VALUES // max(1, nx * npoints * nbins))
    rows = min(rows, ny)
    try:
        pooled, noise = _whole_map(array, setup, rows)
        sink.start(pooled, noise)
        for start, curves, finite in _blocks(array, setup, rows):
            sink.write(pixel_maps(curves, finite, noise, setup), start)
    except BaseException:
        sink.abort()
        raise
    sink.finish()


def _blocks(
    array: Any, setup: MapSetup, rows: int
) -> Iterator[tuple[int, NDArray, NDArray]]:
    """Yield (first row, prepared curves, finite pixels) of each block."""
    for start in range(0, int(array.shape[0]), rows):
        yield start, *block_of(array, setup, start, rows)


def block_of(
    array: Any, setup: MapSetup, start: int, rows: int
) -> tuple[NDArray, NDArray]:
    """Return the prepared curves and finite pixels of rows from start."""
    ny = int(array.shape[0])
    half = setup.window // 2
    stop = min(ny, start + rows)
    low, high = max(0, start - half), min(ny, stop + half)
    curves = numpy.array(array[low:high], dtype=numpy.float64)
    keep = None if setup.keep is None else setup.keep[low:high]
    curves, finite = prepare_curves(curves, keep, setup.window)
    inner = slice(start - low, stop - low)
    return curves[inner], finite[inner]


def _whole_map(
    array: Any, setup: MapSetup, rows: int
) -> tuple[dict[str, Any], NDArray]:
    """Return the pooled fit and the noise level, from passes over blocks."""
    ny, nx, npoints, nbins = (int(n) for n in array.shape)
    reach = setup.reach
    pool = _Pool(setup.radius, ny, nx, npoints * nbins)
    small = ny <= reach and nx <= reach  # no pixels reach apart
    median = _Median(nbins)
    gathered = []
    pairs = _Pairs(reach, ny, nx)
    for start, curves, finite in _blocks(array, setup, rows):
        pool.add(start, curves, finite)
        if small:
            gathered.append(curves.copy())
        else:
            for diffs in pairs.of(start, curves - curves[..., 1:2], finite):
                median.add(diffs)
    pooled = finish_pool(
        *pool.means(),
        setup.models,
        setup.grid,
        setup.delays,
    )
    if small:
        curves = numpy.concatenate(gathered)
        return pooled, noise_level(curves - curves[..., 1:2], reach)
    while median.another_pass():
        pairs = _Pairs(reach, ny, nx)
        for start, curves, finite in _blocks(array, setup, rows):
            for diffs in pairs.of(start, curves - curves[..., 1:2], finite):
                median.add(diffs)
    scale = 1.0 / math.sqrt(2.0)
    return pooled, 1.4826 * scale * median.median()


class _Pairs:
    """Differences of curves `reach` pixels apart, streamed by rows.

    As :func:`._peaks.noise_level`: along x within each row, along y
    between rows `reach` apart (the last `reach` rows of the previous
    block are kept); of every pair whose two pixels have data, each
    point's curve. Only axes longer than `reach` contribute. A prepared
    pixel's curves are all finite or all NaN, and the differences of
    values from float32 cannot overflow, so pairs of pixels with data
    are exactly the rows of finite differences that the whole map uses.

    """

    def __init__(self, reach: int, ny: int, nx: int) -> None:
        self._reach = reach
        self._along_x = nx > reach
        self._along_y = ny > reach
        self._tail: tuple[NDArray, NDArray] | None = None

    def of(self, start: int, curves: NDArray, finite: NDArray) -> list:
        """Return the differences that rows [start, start + n) complete.

        `curves` and `finite` are the rows' prepared curves and pixels
        with data; the differences are arrays of shape (k, nbins).

        """
        reach = self._reach
        pairs = []
        if self._along_x:
            pairs.append(
                (
                    curves[:, reach:],
                    curves[:, :-reach],
                    finite[:, reach:] & finite[:, :-reach],
                )
            )
        if self._along_y:
            rows = len(curves)
            if self._tail is not None:
                # rows start + i, i < reach, pair with the tail's rows
                tail, tail_finite = self._tail
                first = max(0, reach - start)  # rows with a partner
                count = min(rows, reach)
                if first < count:
                    at = slice(len(tail) - reach + first, None)
                    behind = tail[at][: count - first]
                    behind_finite = tail_finite[at][: count - first]
                    pairs.append(
                        (
                            curves[first:count],
                            behind,
                            finite[first:count] & behind_finite,
                        )
                    )
            if rows > reach:
                pairs.append(
                    (
                        curves[reach:],
                        curves[:-reach],
                        finite[reach:] & finite[:-reach],
                    )
                )
            if self._tail is None or rows >= reach:
                kept = (curves[-reach:], finite[-reach:])
            else:
                kept = (
                    numpy.concatenate([self._tail[0], curves])[-reach:],
                    numpy.concatenate([self._tail[1], finite])[-reach:],
                )
            self._tail = (kept[0].copy(), kept[1].copy())
        nbins = curves.shape[-1]
        out = []
        for ahead, behind, both in pairs:
            if both.all():
                diff = ahead - behind
            else:
                diff = ahead[both] - behind[both]
            out.append(diff.reshape(-1, nbins))
        return out


class _Pool:
    """Sums of the curves for :func:`._diffusion.pool`, added by rows.

    Pixels are added one after another in the order of the whole map
    (rows, then columns; within each block of ``2 * radius + 1`` pixels
    a side, likewise), so the means equal those of the whole map.

    """

    def __init__(self, radius: int, ny: int, nx: int, size: int) -> None:
        self._side = 2 * radius + 1
        self._ny = ny
        self._nx = nx
        self._size = size
        self._total = numpy.zeros(size)
        self._count = 0
        self._open: dict[int, tuple[NDArray, NDArray]] = {}
        self._means: list[NDArray] = []

    def add(self, start: int, curves: NDArray, finite: NDArray) -> None:
        """Add rows [start, start + len(curves)) of the map."""
        side = self._side
        flat = curves.reshape(len(curves), self._nx, self._size)
        self._total = _accumulate(self._total, flat[finite])
        self._count += int(finite.sum())
        stop = start + len(curves)
        for by in range(start // side, (stop - 1) // side + 1):
            low = max(start, by * side)
            high = min(stop, (by + 1) * side)
            columns = range(0, self._nx, side)
            sums, counts = self._open.setdefault(
                by,
                (
                    numpy.zeros((len(columns), self._size)),
                    numpy.zeros(len(columns), numpy.intp),
                ),
            )
            for bx, x in enumerate(columns):
                where = (slice(low - start, high - start), slice(x, x + side))
                part = flat[where][finite[where]]
                sums[bx] = _accumulate(sums[bx], part)
                counts[bx] += len(part)
            if high == min(self._ny, (by + 1) * side):  # block row done
                del self._open[by]
                for total, count in zip(sums, counts, strict=True):
                    if count * 2 >= side * side:
                        self._means.append(total / count)

    def means(self) -> tuple[NDArray | None, list[NDArray], int]:
        """Return the mean of all pixels, the blocks' means, the count."""
        if not self._count:
            return None, [], 0
        return self._total / self._count, self._means, self._count


def _accumulate(total: NDArray, rows: NDArray) -> NDArray:
    """Return total plus rows, added one after another (as numpy sums)."""
    if not len(rows):
        return total
    stacked = numpy.concatenate([total[None], rows.reshape(len(rows), -1)])
    return numpy.add.reduce(stacked, axis=0)


class _Median:
    """Exact median of each column of rows given in passes.

    The first pass counts the values by the top 16 bits of their bit
    pattern (for non-negative floats the patterns sort as the values);
    each further pass either keeps the values of the buckets that hold
    the middle ranks, where they are few, or counts them by the next 16
    bits. :meth:`another_pass` says whether one is needed.

    """

    def __init__(self, ncols: int, *, keep: int = _KEEP) -> None:
        self._ncols = ncols
        self._keep = keep
        self._count = 0
        self._counts: NDArray | None = numpy.zeros(
            (ncols, 2**_BITS), numpy.int64
        )
        self._targets: list[dict[str, Any]] = []
        self._found: dict[tuple[int, int], float] = {}

    def add(self, values: NDArray) -> None:
        """Add rows of finite values (k, ncols) of this pass (overwritten)."""
        bits = numpy.abs(values, out=values).view(numpy.uint64)
        if self._counts is not None:
            self._count += len(bits)
            # one bincount of every column: bucket + column * buckets
            keys = (bits >> numpy.uint64(_TOP - _BITS)).astype(numpy.intp)
            keys += numpy.arange(self._ncols) * 2**_BITS
            self._counts += numpy.bincount(
                keys.ravel(), minlength=self._ncols * 2**_BITS
            ).reshape(self._ncols, 2**_BITS)
            return
        columns: dict[int, NDArray] = {}
        for target in self._targets:
            col = target['col']
            if col not in columns:
                columns[col] = numpy.ascontiguousarray(bits[:, col])
            column = columns[col]
            low = numpy.uint64(target['low'])
            high = numpy.uint64(target['low'] + (1 << target['shift']))
            inside = column[(column >= low) & (column < high)]
            if target['keep']:
                target['values'].append(inside)
            else:
                sub = numpy.uint64(target['sub'])
                target['counts'] += numpy.bincount(
                    ((inside - low) >> sub).astype(numpy.intp),
                    minlength=len(target['counts']),
                )

    def another_pass(self) -> bool:
        """Conclude this pass; return whether another is needed."""
        if self._counts is not None:
            ranks = sorted({(self._count - 1) // 2, self._count // 2})
            targets = []
            if self._count:
                for col, counts in enumerate(self._counts):
                    targets += _narrow(col, ranks, counts, 0, _TOP, _BITS, 0)
            self._counts = None
        else:
            targets = []
            for target in self._targets:
                if target['keep']:
                    values = numpy.sort(numpy.concatenate(target['values']))
                    values = values.view(numpy.float64)
                    for rank in target['ranks']:
                        value = values[rank - target['below']]
                        self._found[target['col'], rank] = float(value)
                else:
                    targets += _narrow(
                        target['col'],
                        target['ranks'],
                        target['counts'],
                        target['low'],
                        target['shift'],
                        target['shift'] - target['sub'],
                        target['below'],
                    )
        self._targets = []
        for target in targets:
            if target['shift'] == 0:  # one bit pattern: the value is known
                value = numpy.uint64(target['low']).view(numpy.float64)
                for rank in target['ranks']:
                    self._found[target['col'], rank] = float(value)
            else:
                self._targets.append(target)
        share = self._keep // max(1, len(self._targets))
        for target in self._targets:
            target['keep'] = target['inside'] <= share
            if target['keep']:
                target['values'] = []
            else:
                target['sub'] = max(0, target['shift'] - _BITS)
                buckets = 1 << (target['shift'] - target['sub'])
                target['counts'] = numpy.zeros(buckets, numpy.int64)
        return bool(self._targets)

    def median(self) -> NDArray:
        """Return the median of each column (NaN without values)."""
        out = numpy.full(self._ncols, numpy.nan)
        if not self._count:
            return out
        low, high = (self._count - 1) // 2, self._count // 2
        for col in range(self._ncols):
            pair = numpy.array([self._found[col, low], self._found[col, high]])
            out[col] = pair.mean()  # as numpy.median takes the middle two
        return out


def _narrow(
    col: int,
    ranks: list[int],
    counts: NDArray,
    low: int,
    shift: int,
    bits: int,
    below: int,
) -> list[dict[str, Any]]:
    """Return the buckets of counts that hold ranks, as new targets.

    `counts` counted the patterns in ``[low, low + 2**shift)`` by their
    next `bits` bits; `below` values lie under `low`.

    """
    sub = shift - bits
    total = numpy.cumsum(counts)
    found: dict[int, dict[str, Any]] = {}
    for rank in ranks:
        bucket = int(numpy.searchsorted(total, rank - below, side='right'))
        if bucket not in found:
            before = int(total[bucket - 1]) if bucket else 0
            found[bucket] = {
                'col': col,
                'ranks': [],
                'low': low + (bucket << sub),
                'shift': sub,
                'below': below + before,
                'inside': int(counts[bucket]),
            }
        found[bucket]['ranks'].append(rank)
    return list(found.values())
