"""Imaging FCS of binned pixels through the blocked pipeline.

The pipeline (:func:`ipcf.pipeline.run`) tiles a result grid of input
pixels. A binned ACF has a grid of ``n x n`` pixel sums instead, so it
runs on :class:`BinnedSeries`, a lazy view of the series whose pixels
are those sums (read on demand, block by block), with
:class:`BinnedAcfAnalysis`, which computes the ACF of the summed pixels
and labels the result in input pixels as :func:`ipcf.fcs.acf_image`
does. :func:`run_acf` picks the plain or the binned route, so the
blocked result of any binning equals ``acf_image`` of the whole series.

"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from .fcs import AcfAnalysis, AcfPlan
    from .store import Schema

__all__ = ['BinnedAcfAnalysis', 'BinnedSeries', 'run_acf']

_READ_BYTES = 2**25
"""Most bytes of input read at a time by a binned view."""


class BinnedSeries:
    """Sums of ``n x n`` pixel blocks of a series, computed when read.

    Binned pixel ``(k, l)`` is the sum of input pixels ``[k n, (k + 1)
    n) x [l n, (l + 1) n)``; the last ``H % n`` rows and ``W % n``
    columns are left out, as :func:`ipcf.fcs.acf_image` does. A path
    source is opened at each read and never pickled open, so the view
    travels to worker processes. Values are int64 for integer input,
    float64 otherwise.

    Examples
    --------
    >>> data = numpy.arange(2 * 4 * 5).reshape(2, 4, 5)
    >>> view = BinnedSeries(data, 2)
    >>> view.shape, view[0].tolist()
    ((2, 2, 2), [[12, 20], [52, 60]])

    """

    def __init__(
        self,
        source: Any,
        binning: int,
        /,
        *,
        select: dict[str, int] | None = None,
        gaps: str = 'error',
    ) -> None:
        self.source = source
        self.binning = int(binning)
        self.select = dict(select or {})
        self.gaps = gaps
        series = self._open()
        frames, height, width = (int(k) for k in series.shape)
        n = self.binning
        self.input_shape = (frames, height, width)
        self.shape = (frames, height // n, width // n)
        kind = numpy.dtype(series.dtype).kind
        self.dtype = numpy.dtype(numpy.float64 if kind == 'f' else numpy.int64)
        self.ndim = 3

    def _open(self) -> Any:
        from . import io

        return io.open_frames(self.source, gaps=self.gaps, **self.select)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> NDArray:
        if not isinstance(key, tuple):
            key = (key,)
        if len(key) > 3 or any(k is Ellipsis for k in key):
            msg = f'{key!r} is not an index of frames, rows and columns'
            raise IndexError(msg)
        key = key + (slice(None),) * (3 - len(key))
        ranges = []
        squeeze = []
        for axis, (k, size) in enumerate(zip(key, self.shape, strict=True)):
            if isinstance(k, int | numpy.integer):
                index = int(k) + size if k < 0 else int(k)
                if not 0 <= index < size:
                    msg = f'index {k} is out of range for axis {axis}'
                    raise IndexError(msg)
                ranges.append((index, index + 1))
                squeeze.append(axis)
            elif isinstance(k, slice) and k.step in {None, 1}:
                start, stop, _ = k.indices(size)
                ranges.append((start, max(start, stop)))
            else:
                msg = f'{k!r} is not an integer or a slice of step 1'
                raise IndexError(msg)
        (t0, t1), (r0, r1), (c0, c1) = ranges
        n = self.binning
        out = numpy.zeros((t1 - t0, r1 - r0, c1 - c0), self.dtype)
        series = self._open()
        pixels = max(1, (r1 - r0) * (c1 - c0) * n * n)
        step = max(1, _READ_BYTES // (8 * pixels))
        for s0 in range(t0, t1, step):
            s1 = min(t1, s0 + step)
            block = numpy.asarray(
                series[s0:s1, r0 * n : r1 * n, c0 * n : c1 * n],
                dtype=self.dtype,
            )
            shaped = block.reshape(s1 - s0, r1 - r0, n, c1 - c0, n)
            out[s0 - t0 : s1 - t0] = shaped.sum(axis=(2, 4))
        return out.squeeze(axis=tuple(squeeze)) if squeeze else out


class BinnedAcfAnalysis:
    """The ACF of binned pixels, for the pipeline on a :class:`BinnedSeries`.

    Computes as :class:`ipcf.fcs.AcfAnalysis` with ``binning=1`` on the
    summed pixels (offset ``n**2`` times that of an input pixel) and
    labels the result as that analysis with ``binning=n``: parameters
    per input pixel, coordinates the centres of the blocks in input
    pixels, ``roi`` in input pixels, ``source`` the series itself.

    Parameters
    ----------
    analysis : AcfAnalysis
        The analysis with its binning.
    attrs : dict, optional
        Result attributes that replace the pipeline's (``source`` and
        ``source_fingerprint`` of the series rather than of the view,
        ``channel`` and ``z``).

    """

    name = 'acf'
    halo = (0, 0)
    nchannels = 1

    def __init__(
        self, analysis: AcfAnalysis, /, *, attrs: dict | None = None
    ) -> None:
        from .fcs import AcfAnalysis

        self.outer = analysis
        self.binning = analysis.binning
        self.inner = AcfAnalysis(
            nbins=analysis.nbins,
            binning=1,
            offset=analysis.offset * analysis.binning**2,
            correlator=analysis.correlator,
            channels=analysis.channels,
            engine=analysis.engine.NAME,
        )
        self.extra = dict(attrs or {})

    @property
    def min_frames(self) -> int:
        """Fewest frames analysed."""
        return self.inner.min_frames

    def check_shape(self, height: int, width: int) -> None:
        """Accept any grid of binned pixels."""

    def plan(self, nframes: int) -> AcfPlan:
        """Return the plan of the summed pixels."""
        return self.inner.plan(nframes)

    def parameters(self) -> dict[str, Any]:
        """Return the options of the binned analysis (per input pixel)."""
        return self.outer.parameters()

    def schema(
        self,
        plan: AcfPlan,
        grid: tuple[int, int],
        origin: tuple[int, int],
        *,
        dt: float,
        **extra: Any,
    ) -> Schema:
        """Return the store schema, labelled in input pixels."""
        from . import __version__
        from .store import Schema, Variable

        n = self.binning
        nlags = len(plan.lags)
        variables = {
            'acf': Variable(('y', 'x', 'delay'), (*grid, nlags), 'float32'),
            'acf_zero': Variable(('y', 'x'), grid, 'float32'),
        }
        if self.inner.correlator == 'multipletau':
            variables['acf_error'] = Variable(
                ('y', 'x', 'delay'), (*grid, nlags), 'float32'
            )
        if 'roi' in extra:
            extra['roi'] = [int(b) * n for b in extra['roi']]
        extra.update(self.extra)
        attrs = {
            **self.outer.attrs(plan, dt=dt, **extra),
            'version': __version__,
        }
        origin = (origin[0] * n, origin[1] * n)
        return Schema(
            variables,
            coords=self.outer.coords(plan, grid, origin, dt),
            attrs=attrs,
        )

    def compute(
        self,
        channels: list[Any],
        plan: AcfPlan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return the stored variables of one block of binned pixels."""
        return self.inner.run(channels, plan, mask, num_threads=num_threads)


def run_acf(
    analysis: AcfAnalysis,
    source: Any,
    output: str | os.PathLike[str],
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
    roi: str | Sequence[int] | None = None,
    mask: Any = None,
    block: int = 64,
    dt: float | None = None,
    gaps: str = 'error',
    **options: Any,
) -> Path:
    """Run an ACF analysis of any binning block by block into a store.

    Parameters
    ----------
    analysis : AcfAnalysis
        The analysis.
    source, output, channel, z, roi, mask, dt, gaps :
        As for :func:`ipcf.pipeline.analyze`; `roi` and `mask` in input
        pixels. With binning ``n``, the binned pixels are the blocks of
        the whole image's grid (as :func:`ipcf.fcs.acf_image` bins) that
        lie inside the region, and a binned pixel is analysed if all its
        pixels are in the mask.
    block : int, optional, default: 64
        Result pixels (binned pixels) per block side.
    **options :
        Further options of :func:`ipcf.pipeline.run` (``bleach``,
        ``scheduler``, ``resume``, ...).

    Returns
    -------
    pathlib.Path
        The output store; its group ``acf`` equals ``acf_image`` of the
        series within 1e-6.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> from ipcf.fcs import AcfAnalysis, acf_image
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 9, 10))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = run_acf(AcfAnalysis(nbins=8, binning=2), data,
    ...                    f'{tmp}/a.h5', block=2, bleach=None)
    ...     blocked = ipcf.load_result(path, group='acf')
    >>> whole = acf_image(data, nbins=8, binning=2)
    >>> bool(numpy.allclose(blocked['acf'], whole, atol=1e-6))
    True

    """
    from . import roi as _roi
    from ._files import check_not_input
    from ._sources import physical_units, relative_source
    from ._validate import check_int
    from .fcs import _bin_mask
    from .pipeline import _resolve_mask, run
    from .store import fingerprint

    select = {'channel': channel, 'z': z}
    n = analysis.binning
    if n == 1:
        return run(
            analysis,
            [source],
            output,
            selections=[select],
            roi=roi,
            mask=mask,
            block=block,
            dt=dt,
            gaps=gaps,
            **options,
        )
    check_not_input(output, [source])
    block = check_int(block, 'block', minimum=1)
    select = {k: v for k, v in select.items() if v is not None}
    view = BinnedSeries(source, n, select=select, gaps=gaps)
    frames, height, width = view.input_shape
    analysis.check_shape(height, width)
    series = view._open()
    y0, y1, x0, x1 = _roi.region(roi, series, block=block * n)
    # the binned pixels of the whole image's grid inside the region
    box = (-(-y0 // n), y1 // n, -(-x0 // n), x1 // n)
    if box[1] <= box[0] or box[3] <= box[2]:
        msg = (
            f'roi {y0}:{y1},{x0}:{x1} holds no whole {n}x{n} binned pixel '
            'of the image grid'
        )
        raise ValueError(msg)
    binned_mask = None
    if mask is not None:
        full = _resolve_mask(mask, height, width)
        binned_mask = _bin_mask(full, n)
    if dt is None and _is_path_like(source):
        dt = physical_units(source)['frame_interval']
    attrs = {
        'source': relative_source(source, output),
        'source_fingerprint': fingerprint(series),
        **select,
    }
    return run(
        BinnedAcfAnalysis(analysis, attrs=attrs),
        [view],
        output,
        roi=box,
        mask=binned_mask,
        block=block,
        dt=dt,
        gaps=gaps,
        **options,
    )


def _is_path_like(source: Any) -> bool:
    if isinstance(source, str | os.PathLike):
        return True
    return isinstance(source, list | tuple) and all(
        isinstance(s, str | os.PathLike) for s in source
    )
