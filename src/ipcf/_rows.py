"""Readers that engines pull raw rows of pixels from.

:func:`ipcf.pcf_image` (and every analysis built like it) wraps its
inputs in a :class:`RowReader` and hands it to an engine with the plan.
The engine asks for the rows and columns it needs, when it needs them,
so that it can keep what it computed from earlier rows. Arrays in memory
are served as views, without a copy; lazy arrays (h5py, zarr, dask,
ipcf's own series) are read in slabs of rows that are kept until the
engine moves past them, so each chunk on disk is read about once.

A reader of volume series ``(T, Z, Y, X)`` serves planes instead:
:meth:`RowReader.planes` returns an image reader whose channels are
chosen planes, views of arrays in memory.

"""

from __future__ import annotations

import warnings
from typing import Any

import numpy

__all__ = ['NegativeIntensityWarning', 'RowReader', 'engine_dtype']

_SLAB_BYTES = 256 * 2**20
"""Bytes of raw samples a lazy reader keeps per channel."""


class NegativeIntensityWarning(UserWarning):
    """Intensities below zero were found in the data."""


def engine_dtype(dtype: Any, /) -> numpy.dtype:
    """Return the dtype that samples are handed to engines in.

    Native byte order; half floats become float32 (exactly).

    >>> engine_dtype('>u2'), engine_dtype('float16')
    (dtype('uint16'), dtype('float32'))

    """
    dtype = numpy.dtype(dtype).newbyteorder('=')
    if dtype.kind == 'f' and dtype.itemsize < 4:
        return numpy.dtype(numpy.float32)
    return dtype


class RowReader:
    """Serve frames ``[0, nframes)`` of rows and columns of 1 or 2 inputs.

    Parameters
    ----------
    channels : sequence of array_like, shape (T, H, W) or (T, Z, H, W)
        Checked inputs of one shape; channel 0 holds the centres. Volumes
        are read through :meth:`planes`.
    nframes : int
        Frames served, the first of each input.
    slab_bytes : int, optional
        Bytes of a lazy input's rows kept at a time.
    names : sequence of str, optional
        Names of the channels in messages; default ``'data'`` and
        ``'neighbour'``.

    Notes
    -----
    :meth:`read` raises ValueError naming the rows if float data hold
    NaN or infinity, so engines never see them.

    Examples
    --------
    >>> data = numpy.arange(2 * 3 * 4).reshape(2, 3, 4)
    >>> reader = RowReader([data], 2)
    >>> reader.read(0, 1, 3, 1, 2)[:, :, 0].tolist()
    [[5, 9], [17, 21]]
    >>> volume = RowReader([numpy.zeros((4, 3, 5, 6))], 4)
    >>> volume.shape, volume.planes([(0, 2), (0, 1)]).shape
    ((4, 3, 5, 6), (4, 5, 6))

    """

    def __init__(
        self,
        channels: list[Any],
        nframes: int,
        /,
        *,
        slab_bytes: int = _SLAB_BYTES,
        names: list[str] | None = None,
    ) -> None:
        self.channels = list(channels)
        first = self.channels[0]
        self.nframes = int(nframes)
        self.depth = int(first.shape[1]) if len(first.shape) == 4 else None
        self.height = int(first.shape[-2])
        self.width = int(first.shape[-1])
        self.dtypes = [engine_dtype(c.dtype) for c in self.channels]
        self.dtype = max(self.dtypes, key=lambda d: d.itemsize)
        if names is None:
            names = ['data', 'neighbour'][: len(self.channels)]
        self.names = list(names)
        self._direct = [_is_direct(c) for c in self.channels]
        self._slabs: list[tuple[int, ...] | None]
        self._slabs = [None] * len(self.channels)
        self._slab_bytes = int(slab_bytes)
        # shared with the plane readers: one warning per volume
        self._warned = [False]
        # stacked planes: (first plane, rows per plane), for messages
        self._planes: tuple[int, int] | None = None

    @property
    def nchannels(self) -> int:
        """Number of inputs served."""
        return len(self.channels)

    @property
    def shape(self) -> tuple[int, ...]:
        """Frames, (depth,) height and width served."""
        if self.depth is not None:
            return (self.nframes, self.depth, self.height, self.width)
        return (self.nframes, self.height, self.width)

    def planes(self, selection: list[tuple[int, int]], /) -> RowReader:
        """Return an image reader of planes of a volume reader.

        Channel k of the new reader is plane ``z`` of channel ``c`` for
        ``selection[k] = (c, z)``. Arrays in memory are served as views;
        lazy ones are read plane by plane as the new reader needs.

        """
        channels = []
        names = []
        for c, z in selection:
            source = self.channels[c]
            if self._direct[c]:
                channels.append(source[:, z])
            else:
                channels.append(_Plane(source, z))
            names.append(f'{self.names[c]} (plane {z})')
        reader = RowReader(
            channels, self.nframes, slab_bytes=self._slab_bytes, names=names
        )
        reader._warned = self._warned
        return reader

    def stacked(self, z0: int, z1: int, /) -> RowReader:
        """Return an image reader of planes z0..z1-1 stacked as rows.

        Row ``(z - z0) * height + y`` of the new reader is row ``y`` of
        plane ``z``. Arrays in memory whose planes follow each other are
        served as views; others are read a slab of rows at a time.

        """
        channels = []
        names = []
        for c, source in enumerate(self.channels):
            view = None
            if self._direct[c]:
                view = _stacked_view(source[:, z0:z1])
            channels.append(_Stacked(source, z0, z1) if view is None else view)
            names.append(self.names[c])
        reader = RowReader(
            channels, self.nframes, slab_bytes=self._slab_bytes, names=names
        )
        reader._warned = self._warned
        reader._planes = (z0, self.height)
        return reader

    def read(
        self, channel: int, y0: int, y1: int, x0: int, x1: int, /
    ) -> numpy.ndarray:
        """Return frames of rows [y0, y1) and columns [x0, x1) of a channel.

        The array has shape ``(nframes, y1 - y0, x1 - x0)`` in the
        :func:`engine_dtype` of that channel's input; it may be a view of
        the input or of a buffer that later calls reuse, so engines read
        it before their next call and never write to it.

        """
        source = self.channels[channel]
        if self._direct[channel]:
            block = source[: self.nframes, y0:y1, x0:x1]
            if block.dtype != self.dtypes[channel]:
                block = block.astype(self.dtypes[channel])
            self._check(block, channel, y0, y1)
            return block
        slab = self._slabs[channel]
        if slab is None or not (
            slab[0] <= y0 and y1 <= slab[1] and slab[2] <= x0 and x1 <= slab[3]
        ):
            slab = self._read_slab(channel, y0, y1, x0, x1)
        sy0, _, sx0, _, values, _ = slab
        return values[:, y0 - sy0 : y1 - sy0, x0 - sx0 : x1 - sx0]

    def means(self, channel: int, y0: int, y1: int, /) -> numpy.ndarray | None:
        """Return the means of whole rows [y0, y1) if the input knows them.

        A lazy input that computes its rows (a pipeline's bleach-corrected
        block) may know the float64 mean over the frames served of each
        pixel of the rows it has served, exactly as an engine would
        compute it; engines call this after reading the rows and take
        the means themselves where it returns None.
        """
        means = getattr(self.channels[channel], 'pixel_means', None)
        return None if means is None else means(y0, y1)

    def _read_slab(
        self, channel: int, y0: int, y1: int, x0: int, x1: int
    ) -> tuple[int, int, int, int, numpy.ndarray, numpy.ndarray]:
        """Read rows from y0 on, as many as the slab budget holds.

        Rows that the slab before held already (an engine moving down
        the image asks for rows that overlap it) are moved, not read
        again: a lazy source may compute them (a bleach correction). A
        source with a ``slab_buffer(shape, dtype)`` method lends the
        C-ordered buffer (one that it reuses from block to block).
        """
        source = self.channels[channel]
        dtype = self.dtypes[channel]
        itemsize = dtype.itemsize
        row_bytes = max(1, self.nframes * (x1 - x0) * itemsize)
        budget = max(y1 - y0, self._slab_bytes // row_bytes)
        chunk = _chunk_rows(source)
        rows = _align(y0, budget, chunk, self.height)
        stop = min(self.height, y0 + rows)
        stop = max(stop, y1)
        old = self._slabs[channel]
        # the old slab is freed first unless it holds the first rows
        self._slabs[channel] = None
        keep = 0
        if old is not None:
            oy0, oy1, ox0, ox1, ovalues, base = old
            if (ox0, ox1) == (x0, x1) and oy0 <= y0 < oy1:
                keep = oy1 - y0
            else:
                del old, ovalues, base
        if keep and base.shape[1] >= stop - y0:
            buffer = base
            values = base[:, : stop - y0]
            # row by row up the buffer: no row is overwritten before use
            for row in range(keep) if y0 > oy0 else ():
                values[:, row] = ovalues[:, y0 - oy0 + row]
        else:
            # room for the slabs that follow, whatever their alignment
            capacity = max(stop - y0, budget + chunk - 1)
            shape = (self.nframes, capacity, x1 - x0)
            lend = getattr(source, 'slab_buffer', None)
            buffer = None if lend is None else lend(shape, dtype)
            if buffer is None:
                buffer = numpy.empty(shape, dtype)
            values = buffer[:, : stop - y0]
            if keep:
                values[:, :keep] = ovalues[:, y0 - oy0 :]
        selection = numpy.s_[: self.nframes, y0 + keep : stop, x0:x1]
        target = numpy.s_[:, keep : stop - y0, :]
        if hasattr(source, 'read_direct') and source.dtype == dtype:
            # h5py or a pipeline block: no extra copy (h5py writes only
            # into whole C-ordered arrays)
            source.read_direct(buffer, selection, target)
        else:
            part = source[selection]
            if hasattr(part, 'compute'):  # dask
                part = part.compute()
            numpy.copyto(buffer[target], part, casting='unsafe')
        self._check(buffer[target], channel, y0 + keep, stop)
        slab = (y0, stop, x0, x1, values, buffer)
        self._slabs[channel] = slab
        return slab

    def _check(
        self, block: numpy.ndarray, channel: int, y0: int, y1: int
    ) -> None:
        name = self.names[channel]
        if block.dtype.kind in 'if' and not self._warned[0] and block.size:
            if block.min() < 0:
                self._warned[0] = True
                warnings.warn(
                    f'{name} has negative intensities (rows {y0}..{y1 - 1}): '
                    'the pCF normalizes by mean intensities, which are '
                    'only meaningful for counts; subtract less background',
                    NegativeIntensityWarning,
                    stacklevel=5,
                )
        if block.dtype.kind == 'f' and not numpy.isfinite(block).all():
            where = f'rows {y0}..{y1 - 1}'
            if self._planes is not None:
                first, rows = self._planes
                row = y0 + int(numpy.argwhere(~numpy.isfinite(block))[0][1])
                z, y = divmod(row, rows)
                where = f'plane {first + z}, row {y}'
            msg = (
                f'{name} contains NaN or infinite values in {where}; '
                'replace them, e.g. with numpy.nan_to_num'
            )
            raise ValueError(msg)


class _Plane:
    """Plane z of a lazy volume series, sliced like an image series."""

    def __init__(self, source: Any, z: int) -> None:
        self.source = source
        self.z = int(z)
        shape = tuple(int(n) for n in source.shape)
        self.shape = (shape[0], shape[2], shape[3])
        self.dtype = source.dtype
        chunks = getattr(source, 'chunks', None)
        try:
            self.chunks = (chunks[0], chunks[2], chunks[3])
        except (TypeError, IndexError):
            self.chunks = None

    def __getitem__(self, key: tuple[slice, slice, slice]) -> Any:
        t, y, x = key
        return self.source[t, self.z, y, x]


class _Stacked:
    """Planes z0..z1-1 of a volume series, sliced as one image of rows."""

    def __init__(self, source: Any, z0: int, z1: int) -> None:
        self.source = source
        self.z0 = int(z0)
        shape = tuple(int(n) for n in source.shape)
        self.height = shape[2]
        self.shape = (shape[0], (int(z1) - self.z0) * shape[2], shape[3])
        self.dtype = source.dtype

    def __getitem__(self, key: tuple[slice, slice, slice]) -> Any:
        t, rows, x = key
        start, stop, _ = rows.indices(self.shape[1])
        parts = []
        row = start
        while row < stop:
            z, y = divmod(row, self.height)
            end = min(stop, (z + 1) * self.height)
            part = self.source[t, self.z0 + z, y : y + end - row, x]
            if hasattr(part, 'compute'):  # dask
                part = part.compute()
            parts.append(numpy.asarray(part))
            row = end
        return numpy.concatenate(parts, axis=1)


def _stacked_view(planes: numpy.ndarray) -> numpy.ndarray | None:
    """Return (T, Z, H, W) planes as a (T, Z * H, W) view, or None."""
    nframes, depth, height, width = planes.shape
    strides = planes.strides
    if depth > 1 and strides[1] != height * strides[2]:
        return None
    return numpy.lib.stride_tricks.as_strided(
        planes,
        shape=(nframes, depth * height, width),
        strides=(strides[0], strides[2], strides[3]),
        writeable=False,
    )


def _is_direct(array: Any) -> bool:
    """Return whether an input can be served as views (in memory)."""
    return isinstance(array, numpy.ndarray)


def _chunk_rows(source: Any) -> int:
    chunks = getattr(source, 'chunks', None)
    try:
        return max(1, int(chunks[1]))
    except (TypeError, IndexError, ValueError):
        return 1


def _align(y0: int, rows: int, chunk: int, height: int) -> int:
    """Return rows from y0, ending on a chunk boundary where possible."""
    if chunk <= 1:
        return rows
    stop = y0 + rows
    aligned = (stop // chunk) * chunk
    if aligned > y0:
        stop = aligned
    return max(1, min(height, stop) - y0)
