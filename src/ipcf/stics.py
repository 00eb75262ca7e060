"""Spatiotemporal image correlation spectroscopy (STICS).

:func:`stics` correlates the intensity fluctuations of an image series
in space and time at once::

    G(xi, eta, tau) = < dI(x, y, t) dI(x + xi, y + eta, t + tau) > / <I>²

over all pixels and frames of the field (or of a masked region), by FFT
in space, for delays up to `max_delay`. The spread of its peak with the
delay is the image-derived mean square displacement of
:func:`ipcf.imsd.imsd`, and the motion of its peak the drift.

"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import number_threads, progress_bar
from ._validate import (
    check_any,
    check_int,
    check_mask,
    check_positive,
    check_real,
    check_series,
)

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

__all__ = ['MAX_SHIFT', 'stics', 'stics_delays']

MAX_SHIFT = 16
"""Largest spatial shift reported by default, in pixels."""

# spectral values of one chunk of frames: small enough to stay in cache
_CHUNK_VALUES = 2**19


def stics(
    data: ArrayLike,
    *,
    max_delay: int = 32,
    nbins: int | None = None,
    max_shift: int | None = None,
    subtract_immobile: int | None = None,
    mask: ArrayLike | None = None,
    offset: float = 0.0,
    dt: float = 1.0,
    pixel_size: float = 1.0,
    num_threads: int | None = None,
    progress: bool = False,
) -> xarray.DataArray:
    """Return the spatiotemporal correlation function of an image series.

    Parameters
    ----------
    data : array_like, shape (T, H, W)
        Image time series of integer or floating-point intensities:
        numpy array, memmap, h5py or zarr dataset, dask array. All
        frames are used, read in chunks. Not modified.
    max_delay : int, optional, default: 32
        Largest delay in frames, at least 0 and below ``T``.
    nbins : int, optional
        None (default): every delay ``0, 1, ..., max_delay``. An integer
        of at least 2: about that many delays, 0 and then spaced
        logarithmically from 1 to `max_delay` (:func:`stics_delays`).
    max_shift : int, optional
        Largest spatial shift ``|xi|`` and ``|eta|`` reported, in pixels,
        at least 1 and below the image's height and width. None
        (default): ``min(16, (H - 1) // 2, (W - 1) // 2)``.
    subtract_immobile : int, optional
        Length in frames of a moving average subtracted from every
        pixel's series before correlating, at least 3: it removes the
        immobile (and slowly moving) structures, whose correlation does
        not decay with the delay. Choose it well above `max_delay`.
        None (default): no subtraction.
    mask : array_like of bool, shape (H, W), optional
        Pixels to use; the others count as missing, and every mean and
        sum is taken over the pixels of the mask only.
    offset : float, optional, default: 0.0
        Camera offset (plus any constant background) in counts, at least
        0, subtracted from the mean ``<I>`` that normalises the result.
    dt : float, optional, default: 1.0
        Frame interval in seconds; delays are reported in its unit.
    pixel_size : float, optional, default: 1.0
        Pixel size in µm, recorded for :func:`ipcf.imsd.imsd`; shifts
        are reported in pixels.
    num_threads : int, optional
        Workers of the FFTs; ``None`` uses all cores.
    progress : bool, optional, default: False
        Show a progress bar of the frames read.

    Returns
    -------
    xarray.DataArray, shape (ndelays, 2 * max_shift + 1, 2 * max_shift + 1)
        Named ``'stics'``, float32, with dims ``('delay', 'eta', 'xi')``:
        ``eta`` is the shift along y (rows) and ``xi`` along x (columns)
        in pixels, ``delay`` the delay in seconds and ``lag`` in frames.
        ``attrs`` hold the options, ``frames``, ``mean`` (``<I>`` less
        the offset), ``dt``, ``pixel_size`` and the package version.

    Raises
    ------
    TypeError
        If `data` is not numeric or an option has the wrong type.
    ValueError
        If `data` is not 3-D, an option is out of range, the mask
        selects no pixel, or the mean does not exceed the offset.

    Notes
    -----
    With ``dI(x, y, t)`` the intensity less its mean over all frames and
    pixels (of the mask), or, with `subtract_immobile`, less its own
    moving average over that many frames centred on ``t`` (fewer at the
    ends of the series), and ``m`` the mask::

        G(xi, eta, tau) = sum_t sum_(x, y) dI(x, y, t) dI(x + xi, y + eta,
                          t + tau) / ((T - tau) n(xi, eta) (<I> - offset)²)

    over the frames ``t < T - tau`` and the ``n(xi, eta)`` pixel pairs
    of the mask at that shift (a linear correlation in space: the images
    are zero-padded, not wrapped). A peak at ``(xi, eta) = v tau`` means
    the intensity moves with velocity ``v``. Photon noise adds a spike
    at zero shift and delay only. Without `subtract_immobile`, immobile
    structures add a peak of the PSF's width at every delay, and changes
    of the whole image's intensity (bleaching) a baseline.

    The mean is that of all frames, not of each frame as in the first
    STICS papers: a frame's mean, subtracted over a finite field, takes
    with it part of every particle's own correlation, more of a wider
    peak, so that the peaks' widths grow too slowly (D was 20 % low on
    48x48 pixels).

    The spectra of the frames are computed once; each delay costs one
    product of spectra per frame. Frames are read in chunks, so memory
    holds the spectra of about ``max_delay`` frames and one accumulated
    spectrum per delay, whatever the number of frames; without
    `subtract_immobile` the frames are read twice (first for the mean).
    4096 frames of 64x64 pixels took 2 s for 33 delays on a 2-core
    machine.

    References
    ----------
    .. [1] Hebert B, Costantino S, Wiseman PW. Spatiotemporal image
       correlation spectroscopy (STICS) theory, verification, and
       application to protein velocity mapping in living CHO cells.
       Biophys J 88: 3601 (2005).

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100.0, (64, 16, 16))
    >>> g = stics(data, max_delay=4, max_shift=3)
    >>> g.dims, g.shape
    (('delay', 'eta', 'xi'), (5, 7, 7))
    >>> round(float(g.sel(delay=0, eta=0, xi=0)) * 100, 1)  # 1 / <I>
    1.0

    """
    import xarray

    from . import __version__

    data, shape = check_series(data, min_frames=2)
    nframes, height, width = shape
    delays = stics_delays(max_delay, nbins=nbins, nframes=nframes)
    max_shift = _check_shift(max_shift, height, width)
    window = _check_window(subtract_immobile)
    offset = check_real(offset, 'offset', minimum=0.0)
    dt = check_positive(dt, 'dt')
    pixel_size = check_positive(pixel_size, 'pixel_size')
    workers = number_threads(num_threads)
    if mask is None:
        mask_array = numpy.ones((height, width), bool)
    else:
        mask_array = check_mask(mask, (height, width))
        check_any(mask_array, name='mask')
    values, means = correlate_blocks(
        data,
        delays,
        size=(height, width),
        origins=numpy.zeros((1, 2), numpy.intp),
        mask=mask_array,
        max_shift=max_shift,
        window=window,
        offset=offset,
        workers=workers,
        progress=progress,
    )
    if not means[0] > 0.0:
        msg = (
            f'the mean intensity less the offset is {means[0]:g}; '
            f'it must be > 0 ({offset=})'
        )
        raise ValueError(msg)
    shifts = numpy.arange(-max_shift, max_shift + 1)
    lags = numpy.asarray(delays, numpy.float64)
    return xarray.DataArray(
        values[:, 0],
        name='stics',
        dims=('delay', 'eta', 'xi'),
        coords={
            'delay': ('delay', lags * dt),
            'lag': ('delay', numpy.asarray(delays)),
            'eta': ('eta', shifts),
            'xi': ('xi', shifts),
        },
        attrs={
            'max_delay': int(delays[-1]),
            'nbins': nbins,
            'max_shift': max_shift,
            'subtract_immobile': window,
            'offset': offset,
            'frames': nframes,
            'mean': float(means[0]),
            'dt': dt,
            'pixel_size': pixel_size,
            'masked': mask is not None,
            'version': __version__,
        },
    )


def stics_delays(
    max_delay: int, /, *, nbins: int | None = None, nframes: int | None = None
) -> NDArray[numpy.intp]:
    """Return the delays in frames that :func:`stics` computes.

    Parameters
    ----------
    max_delay : int
        Largest delay, at least 0 (and below `nframes` if given).
    nbins : int, optional
        None: all delays up to `max_delay`. Else, at least 2: delay 0,
        then ``nbins - 1`` delays spaced logarithmically from 1 to
        `max_delay`, rounded, duplicates dropped (so fewer may remain).
    nframes : int, optional
        Frames of the series, to check `max_delay` against.

    Examples
    --------
    >>> stics_delays(4).tolist()
    [0, 1, 2, 3, 4]
    >>> stics_delays(100, nbins=6).tolist()
    [0, 1, 3, 10, 32, 100]

    """
    max_delay = check_int(max_delay, 'max_delay', minimum=0)
    if nframes is not None and max_delay >= nframes:
        msg = f'{max_delay=} must be below the {nframes} frames of data'
        raise ValueError(msg)
    if nbins is None:
        return numpy.arange(max_delay + 1, dtype=numpy.intp)
    nbins = check_int(nbins, 'nbins', minimum=2)
    if max_delay == 0:
        return numpy.zeros(1, numpy.intp)
    spaced = numpy.geomspace(1.0, max_delay, nbins - 1)
    return numpy.unique(
        numpy.concatenate(([0], numpy.rint(spaced).astype(numpy.intp)))
    )


def _check_shift(max_shift: Any, height: int, width: int) -> int:
    """Return the checked largest shift."""
    if max_shift is None:
        max_shift = min(MAX_SHIFT, (height - 1) // 2, (width - 1) // 2)
        if max_shift < 1:
            msg = f'{height}x{width} images are too small for STICS'
            raise ValueError(msg)
        return max_shift
    max_shift = check_int(max_shift, 'max_shift', minimum=1)
    if max_shift >= min(height, width):
        msg = f'{max_shift=} must be below the image size {height}x{width}'
        raise ValueError(msg)
    return max_shift


def _check_window(window: Any) -> int | None:
    """Return the checked moving-average length of subtract_immobile."""
    if window is None:
        return None
    return check_int(window, 'subtract_immobile', minimum=3)


def correlate_blocks(
    data: Any,
    delays: NDArray[numpy.intp],
    *,
    size: tuple[int, int],
    origins: NDArray[numpy.intp],
    mask: NDArray[numpy.bool_],
    max_shift: int,
    window: int | None,
    offset: float,
    workers: int,
    progress: bool = False,
) -> tuple[NDArray[numpy.float32], NDArray[numpy.float64]]:
    """Return the STICS of blocks of a series and the blocks' mean.

    Each block is the ``size`` region at one of ``origins`` (rows of
    ``(y, x)``); `mask` is that of the whole image. The arguments are
    checked. Returns the correlations ``(ndelays, blocks, 2 S + 1, 2 S
    + 1)`` (NaN where no pixel pair exists) and the mean less the
    offset of each block.

    """
    import scipy.fft  # on first use: keeps ``import ipcf`` light

    nframes = int(data.shape[0])
    h, w = size
    nblocks = len(origins)
    masks = _blocks(mask[None].astype(numpy.float64), origins, size)[0]
    counts = masks.sum(axis=(-2, -1))
    shape = (
        scipy.fft.next_fast_len(h + max_shift, real=True),
        scipy.fft.next_fast_len(w + max_shift, real=True),
    )
    spectrum = scipy.fft.rfft2(masks, s=shape, workers=workers)
    pairs = scipy.fft.irfft2(
        spectrum.real**2 + spectrum.imag**2, s=shape, workers=workers
    )
    delays = numpy.asarray(delays, numpy.intp)
    longest = int(delays[-1])
    nspec = shape[0] * (shape[1] // 2 + 1)
    chunk = max(1, min(nframes, _CHUNK_VALUES // max(1, nblocks * nspec)))
    # at least the longest delay: the spectra kept from the last chunk
    # are copied once per chunk, which must not happen once per frame
    chunk = min(nframes, max(chunk, longest))
    acc = numpy.zeros(
        (len(delays), nblocks, shape[0], shape[1] // 2 + 1), numpy.complex128
    )
    tail = numpy.empty((0, nblocks, *acc.shape[2:]), numpy.complex64)
    level = None
    if window is None:
        # the mean of each block over all frames: a first pass
        level = numpy.zeros(nblocks)
        for sums, _ in _fluctuations(
            data, origins, size, masks, window=None, chunk=chunk
        ):
            level += sums
        level /= nframes * counts
    total = numpy.zeros(nblocks)
    frames = _fluctuations(
        data,
        origins,
        size,
        masks,
        window=window,
        chunk=chunk,
        level=level,
    )
    with progress_bar(
        nframes, enable=progress, desc='STICS', unit='frame'
    ) as bar:
        for sums, fluct in frames:
            total += sums
            # float32 after the mean is subtracted: precision enough for
            # the fluctuations, half the memory and time of float64
            spectra = scipy.fft.rfft2(
                fluct.astype(numpy.float32), s=shape, workers=workers
            )
            joined = numpy.concatenate((tail, spectra))
            conj = joined.conj()  # once per chunk, not once per delay
            ntail = len(tail)
            for k, tau in enumerate(delays):
                # each pair of frames is counted once, by its later frame
                first = max(ntail, int(tau))
                if first >= len(joined):
                    continue
                later = joined[first:]
                earlier = conj[first - tau : len(joined) - tau]
                acc[k] += numpy.einsum('t...,t...->...', earlier, later)
            tail = joined[max(0, len(joined) - longest) :]
            bar.update(len(fluct))
    means = total / (nframes * counts) - offset
    corr = scipy.fft.irfft2(acc, s=shape, workers=workers)
    shifts = numpy.arange(-max_shift, max_shift + 1)
    rows = shifts % shape[0]
    cols = shifts % shape[1]
    corr = corr[..., rows[:, None], cols[None, :]]
    npairs = numpy.rint(pairs[..., rows[:, None], cols[None, :]])
    with numpy.errstate(divide='ignore', invalid='ignore'):
        scale = (nframes - delays)[:, None, None, None] * npairs[None]
        scale = scale * (means**2)[None, :, None, None]
        values = numpy.where(npairs[None] > 0, corr / scale, numpy.nan)
    return values.astype(numpy.float32), means


def _blocks(
    frames: NDArray[numpy.float64],
    origins: NDArray[numpy.intp],
    size: tuple[int, int],
) -> NDArray[numpy.float64]:
    """Return frames (n, H, W) cut into blocks (n, blocks, h, w)."""
    h, w = size
    if len(origins) == 1:
        y, x = (int(v) for v in origins[0])
        return frames[:, None, y : y + h, x : x + w]
    rows = origins[:, 0, None] + numpy.arange(h)
    cols = origins[:, 1, None] + numpy.arange(w)
    return frames[:, rows[:, :, None], cols[:, None, :]]


def _fluctuations(
    data: Any,
    origins: NDArray[numpy.intp],
    size: tuple[int, int],
    masks: NDArray[numpy.float64],
    *,
    window: int | None,
    chunk: int,
    level: NDArray[numpy.float64] | None = None,
) -> Iterator[tuple[NDArray[numpy.float64], NDArray[numpy.float64] | None]]:
    """Yield the sum of each block and the fluctuations, chunk by chunk.

    The fluctuations ``(n, blocks, h, w)`` are the intensity less its
    moving average (if `window`) or less each block's `level` (its mean
    over all frames), zero outside the mask; the sums (blocks,) are of
    the raw intensity. Without `window` and `level` only the sums are
    made (the fluctuations are None).

    """
    nframes = int(data.shape[0])
    y0 = int(origins[:, 0].min())
    x0 = int(origins[:, 1].min())
    y1 = int(origins[:, 0].max()) + size[0]
    x1 = int(origins[:, 1].max()) + size[1]
    local = origins - (y0, x0)
    before = after = 0
    if window is not None:
        before, after = window // 2, (window - 1) // 2
    for start in range(0, nframes, chunk):
        stop = min(nframes, start + chunk)
        lo, hi = max(0, start - before), min(nframes, stop + after)
        raw = numpy.asarray(data[lo:hi, y0:y1, x0:x1], dtype=numpy.float64)
        if not numpy.isfinite(raw).all():
            msg = (
                f'data contains NaN or infinite values in frames {lo}..'
                f'{hi - 1}; replace them, e.g. with numpy.nan_to_num'
            )
            raise ValueError(msg)
        inner = raw[start - lo : stop - lo]
        # may be a view of the caller's array: nothing in place before
        # the subtractions below make a new one
        blocks = _blocks(inner, local, size)
        sums = (blocks * masks).sum(axis=(0, -2, -1))
        if window is not None:
            blocks = blocks - _blocks(
                _moving_mean(raw, start - lo, stop - lo, before, after),
                local,
                size,
            )
        elif level is not None:
            blocks = blocks - level[:, None, None]
        else:
            yield sums, None
            continue
        blocks *= masks
        yield sums, blocks


def _moving_mean(
    raw: NDArray[numpy.float64],
    start: int,
    stop: int,
    before: int,
    after: int,
) -> NDArray[numpy.float64]:
    """Return the mean of raw[t - before : t + after + 1] for t in start..stop.

    Windows are cut at the ends of raw, which are the ends of the series
    wherever raw does not extend `before` and `after` frames beyond.

    """
    cumsum = numpy.zeros((len(raw) + 1, *raw.shape[1:]))
    numpy.cumsum(raw, axis=0, out=cumsum[1:])
    t = numpy.arange(start, stop)
    lo = numpy.maximum(t - before, 0)
    hi = numpy.minimum(t + after + 1, len(raw))
    return (cumsum[hi] - cumsum[lo]) / (hi - lo)[:, None, None]
