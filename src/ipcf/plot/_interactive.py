"""Interactive part of the HTML report: embedded data and the page script.

:func:`explore_html` returns an HTML fragment that shows the mean image,
the pCF image at a chosen circle point and delay (two sliders), and the
carpet and the curves of the pixel last clicked in either image. It is
plain JavaScript drawing into ``<canvas>`` elements, with its data in the
page: the file stays one file that needs no server, no network and no
library.

Size rule
---------
The curves are embedded as little-endian float16 values (base64), scaled
by a power of two so that small G keep 11 significant bits, of blocks of
``step x step`` result pixels (their mean, NaN ignored), with
``step`` the smallest integer for which
``ceil(H' / step) * ceil(W' / step) * npoints * nbins * 2 <= max_bytes``
(:func:`block_step`; :data:`MAX_BYTES` = 10 MB by default, 13.3 MB as
base64). The mean image is embedded as one byte per pixel, block-averaged
to at most :data:`MAX_IMAGE_SIDE` pixels per side (1 MiB, 1.4 MB as
base64). So the interactive part of any report is at most about 15 MB: a
full frame of 512 x 1024 pixels analysed with radius 6, 32 points and 30
delays (500 x 1012 result pixels) gets ``step = 10``, 50 x 102 blocks,
9.8 MB of curves, and a report of about 14 MB. Results small enough get
``step = 1``: every pixel's own curves.

The rest of the module serves the static part: the parameters table with
units (:func:`parameter_rows`) and the decimated intensity trace with its
bleaching trend (:func:`trace_figure`). The names have no leading
underscore so the report can import them; the module is private.

"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy

from ._common import BAD, CMAP, CYCLIC, INTENSITY, limits

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

__all__ = [
    'MAX_BYTES',
    'MAX_IMAGE_SIDE',
    'TRACE_BINS',
    'analysed_frames',
    'block_means',
    'block_step',
    'bleach_trend',
    'decimate_trace',
    'explore_html',
    'explore_section',
    'pack',
    'parameter_rows',
    'trace_figure',
]

MAX_BYTES = 10_000_000
"""Most bytes of embedded curve values (before base64, which adds 1/3)."""

MAX_IMAGE_SIDE = 1024
"""Most pixels per side of the embedded mean image."""

TRACE_BINS = 1000
"""Most points of the decimated intensity trace."""

_HALF_MAX = 65504.0  # largest finite float16


def block_step(
    shape: tuple[int, ...], /, *, max_bytes: int = MAX_BYTES
) -> int:
    """Return the block side whose float16 block means fit in max_bytes.

    `shape` is that of a result, ``(H', W', npoints, nbins)``.

    >>> block_step((500, 1012, 32, 30))
    10
    >>> block_step((12, 12, 8, 8))
    1

    """
    ny, nx, npoints, nbins = (int(n) for n in shape)
    per_block = npoints * nbins * 2
    if ny * nx * per_block <= max_bytes:
        return 1
    # the side from the area, then up until the rounded-up grid fits
    step = max(1, int(math.sqrt(ny * nx * per_block / max_bytes)))
    while math.ceil(ny / step) * math.ceil(nx / step) * per_block > max_bytes:
        step += 1
    return step


def block_means(result: Any, step: int, /) -> NDArray[numpy.float32]:
    """Return the NaN-ignoring means of step x step blocks (float32).

    Shape ``(ceil(H' / step), ceil(W' / step), npoints, nbins)``; the last
    blocks of a row or column hold the pixels that remain. Read one row
    of blocks at a time, so a lazily loaded result is never copied whole.

    >>> values = numpy.arange(16.0).reshape(4, 4, 1, 1)
    >>> block_means(values, 2)[..., 0, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]

    """
    ny, nx, npoints, nbins = (int(n) for n in result.shape)
    gy, gx = math.ceil(ny / step), math.ceil(nx / step)
    out = numpy.empty((gy, gx, npoints, nbins), dtype=numpy.float32)
    if step == 1:
        values = numpy.asarray(result, dtype=numpy.float32)
        out[...] = values
        return out
    for j in range(gy):
        rows = numpy.full((step, gx * step, npoints, nbins), numpy.nan, 'f4')
        part = numpy.asarray(result[j * step : (j + 1) * step], 'f4')
        rows[: part.shape[0], :nx] = part
        blocks = rows.reshape(step, gx, step, npoints, nbins)
        finite = numpy.isfinite(blocks)
        count = finite.sum(axis=(0, 2))
        total = numpy.where(finite, blocks, 0.0).sum(axis=(0, 2))
        with numpy.errstate(invalid='ignore', divide='ignore'):
            mean = numpy.where(count > 0, total / count, numpy.nan)
        out[j] = mean
    return out


def pack(
    result: Any,
    /,
    *,
    mean: NDArray | None = None,
    pixel_size: float | None = None,
    max_bytes: int = MAX_BYTES,
) -> dict[str, Any]:
    """Return the data of the interactive part as a JSON-ready dict.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    mean : ndarray, shape (H, W), optional
        Mean image of the series; without it the pCF image is the one to
        click.
    pixel_size : float, optional
        µm per pixel; axes are in µm when given, else in pixels.
    max_bytes : int, optional
        Most bytes of curve values (see the module's size rule).

    """
    ny, nx, npoints, nbins = (int(n) for n in result.shape)
    step = block_step(result.shape, max_bytes=max_bytes)
    blocks = block_means(result, step)
    scale = _half_scale(blocks)
    halves = numpy.clip(blocks * scale, -_HALF_MAX, _HALF_MAX).astype('<f2')
    dt = float(result.attrs.get('dt', 1.0))
    delays = result['delay'].values.astype(numpy.float64)
    later = blocks[..., 1:] if nbins > 1 else blocks
    start = [0, 0]
    finite = numpy.isfinite(later).all(axis=(2, 3))
    if finite.any():
        score = numpy.where(finite, later.max(axis=(2, 3)), -numpy.inf)
        start = [
            int(v)
            for v in numpy.unravel_index(numpy.argmax(score), score.shape)
        ]
    data: dict[str, Any] = {
        'shape': [ny, nx, npoints, nbins],
        'grid': [int(blocks.shape[0]), int(blocks.shape[1])],
        'step': step,
        'origin': [int(result['y'].values[0]), int(result['x'].values[0])],
        'values': _base64(halves),
        'scale': scale,
        'delays': [float(d) for d in delays],
        'delayUnit': 's' if dt != 1.0 else 'frames',
        'u': [int(u) for u in result['u'].values],
        'v': [int(v) for v in result['v'].values],
        'angle': [
            float(numpy.degrees(a) % 360.0) for a in result['angle'].values
        ],
        'distance': [float(d) for d in result['distance'].values],
        'pixelSize': None if pixel_size is None else float(pixel_size),
        'start': start,
        'delay': max(1, nbins // 3) if nbins > 1 else 0,
        'lut': {
            'values': _lut(CMAP),
            'intensity': _lut(INTENSITY),
            'angle': _lut(CYCLIC),
        },
        'bad': BAD,
        'mean': None,
    }
    if mean is not None:
        data['mean'] = _pack_image(numpy.asarray(mean, dtype=numpy.float64))
    return data


def explore_html(
    result: Any,
    /,
    *,
    mean: NDArray | None = None,
    pixel_size: float | None = None,
    max_bytes: int = MAX_BYTES,
) -> str:
    """Return the interactive part of the report as an HTML fragment.

    See :func:`pack` for the parameters.

    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 10, 10))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> 'id="ipcf-carpet"' in explore_html(result)
    True

    """
    data = pack(result, mean=mean, pixel_size=pixel_size, max_bytes=max_bytes)
    # '<' never appears in base64; escaped in the rest, so no '</script'
    text = json.dumps(data, separators=(',', ':'), allow_nan=False)
    text = text.replace('<', '\\u003c')
    step = data['step']
    if step == 1:
        what = 'each pixel has its own curves'
    else:
        what = (
            f'the curves are means over blocks of {step} x {step} pixels, '
            'so that the page stays small'
        )
    mean_panel = ''
    if data['mean'] is not None:
        mean_panel = (
            '<div class="ipcf-panel"><canvas id="ipcf-mean" width="520" '
            'height="420"></canvas></div>\n'
        )
    return _TEMPLATE.format(
        what=what, mean_panel=mean_panel, data=text, script=_SCRIPT
    )


def explore_section(
    result: Any,
    stats: Mapping[str, Any],
    pixel_size: float | None,
    notes: list[str],
    /,
) -> str:
    """Return the report's interactive section, or '' with a note why not.

    `stats` holds the ``mean`` image when the report computed it.

    """
    try:
        return explore_html(
            result, mean=stats.get('mean'), pixel_size=pixel_size
        )
    except (ValueError, ImportError, MemoryError) as exc:
        notes.append(f'Explore: left out ({exc})')
        return ''


def analysed_frames(
    attrs: Mapping[str, Any], total: int, /
) -> tuple[int, int] | None:
    """Return (first, stop) of the frames a result analysed, if known.

    The filter correction drops its size of frames at each end, then the
    first ``frames`` of what is left are used (SPEC); other corrections
    drop none.

    >>> analysed_frames({'frames': 4096, 'bleach': 'filter:512'}, 6000)
    (512, 4608)
    >>> analysed_frames({}, 100) is None
    True

    """
    frames = attrs.get('frames')
    if not _is_number(frames) or int(frames) <= 0:
        return None
    first = 0
    bleach = attrs.get('bleach')
    if bleach is not None:
        try:
            from ..bleach import parse_method

            method, param = parse_method(str(bleach))
        except (TypeError, ValueError):
            return None
        if method == 'filter' and param:
            first = int(param)
    stop = min(first + int(frames), int(total))
    if stop <= first:
        return None
    return first, stop


def parameter_rows(
    result: Any, units: Mapping[str, Any], /
) -> list[tuple[str, str]]:
    """Return the rows of the parameters table, with units.

    Delays and times in s (or frames when the frame interval is not
    known), lengths in pixels and in µm when the pixel size is known,
    numbers with four significant digits.

    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 10, 10))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=8, dt=1e-3)
    >>> rows = dict(parameter_rows(result, {'pixel_size': 0.1}))
    >>> rows['radius (pixel)'], rows['nbins'], rows['dt (s)']
    ('2 (0.2 µm)', '7 (8 requested)', '0.001')

    """
    attrs = dict(result.attrs)
    size = units.get('pixel_size')
    dt = float(attrs.get('dt', 1.0))
    seconds = dt != 1.0
    rows: list[tuple[str, str]] = []

    def frames(count: Any) -> str:
        text = _number(count)
        if seconds and _is_number(count):
            text += f' ({_number(float(count) * dt)} s)'
        return text

    def pixels(count: Any) -> str:
        text = _number(count)
        if size is not None and _is_number(count):
            text += f' ({_number(float(count) * size)} µm)'
        return text

    if 'radius' in attrs:
        rows.append(('radius (pixel)', pixels(attrs.pop('radius'))))
    if 'npoints' in attrs:
        rows.append(('npoints', _number(attrs.pop('npoints'))))
    effective = int(result.sizes['delay'])
    requested = attrs.pop('nbins', effective)
    text = str(effective)
    if _is_number(requested) and int(requested) != effective:
        text += f' ({int(requested)} requested)'
    rows.append(('nbins', text))
    delays = result['delay'].values
    unit = 's' if seconds else 'frames'
    rows.append(
        (
            f'delays ({unit})',
            f'0 .. {_number(float(delays[-1]))}, log-spaced',
        )
    )
    if 'dt' in attrs:
        attrs.pop('dt')
        if seconds:
            rows.append(('dt (s)', _number(dt)))
        else:
            rows.append(('dt', '1 (delays in frames: frame interval unknown)'))
    for key in ('frames', 'frames_total'):
        if key in attrs:
            rows.append((f'{key} (frame)', frames(attrs.pop(key))))
    if 'bleach' in attrs:
        rows.append(('bleach', _bleach_text(attrs.pop('bleach'), dt)))
    if 'roi' in attrs:
        box = attrs.pop('roi')
        rows.append(('roi (y0, y1, x0, x1; pixel)', _value(box)))
    if 'block' in attrs:
        rows.append(('block (pixel)', _value(attrs.pop('block'))))
    for key, unit_ in (('pixel_size', 'µm'), ('psf_radius', 'µm')):
        if key in attrs:
            rows.append((f'{key} ({unit_})', _value(attrs.pop(key))))
    if 'offset' in attrs:
        rows.append(('offset (counts)', _value(attrs.pop('offset'))))
    for key in ('truncate', 'mode', 'engine', 'version', 'source'):
        if key in attrs:
            rows.append((key, _value(attrs.pop(key))))
    rows.extend((key, _value(value)) for key, value in sorted(attrs.items()))
    return [(k, v) for k, v in rows if not _is_timing(k)]


def decimate_trace(
    trace: NDArray, /, *, bins: int = TRACE_BINS
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Return centre frame, minimum, mean and maximum of frame bins.

    At most `bins` bins of equal numbers of frames (±1); every frame is
    in one bin, so the band from minimum to maximum shows every sample's
    range and the mean its course.

    >>> centre, low, mean, high = decimate_trace(numpy.arange(10.0), bins=5)
    >>> centre.tolist(), mean.tolist()
    ([0.5, 2.5, 4.5, 6.5, 8.5], [0.5, 2.5, 4.5, 6.5, 8.5])

    """
    trace = numpy.asarray(trace, dtype=numpy.float64)
    count = max(1, min(int(bins), trace.size))
    edges = numpy.linspace(0, trace.size, count + 1).round().astype(int)
    starts = edges[:-1]
    sizes = numpy.diff(edges)
    mean = numpy.add.reduceat(trace, starts) / sizes
    low = numpy.minimum.reduceat(trace, starts)
    high = numpy.maximum.reduceat(trace, starts)
    centre = (edges[:-1] + edges[1:] - 1) / 2.0
    return centre, low, mean, high


def bleach_trend(
    frames: NDArray, values: NDArray, /
) -> tuple[NDArray, float, float]:
    """Return the fitted ``b + a * exp(-t / tau)``, tau and its amplitude.

    Least squares over `values` at `frames` (the decimated trace), tau
    scanned over a logarithmic grid of 1 % to 100 times the record's
    length; tau and the amplitude `a` are in frames and counts. A trace
    without decay gets a nearly flat trend.

    >>> t = numpy.arange(100.0)
    >>> trend, tau, amplitude = bleach_trend(t, 10 + 5 * numpy.exp(-t / 30))
    >>> round(tau), round(amplitude, 3)
    (30, 5.0)

    """
    t = numpy.asarray(frames, dtype=numpy.float64)
    y = numpy.asarray(values, dtype=numpy.float64)
    t = t - t[0]
    span = max(float(t[-1]), 1.0)
    # a coarse scan, then a fine one around its best
    taus = numpy.geomspace(0.01 * span, 100.0 * span, 400)
    tau = _best_tau(t, y, taus)
    tau = _best_tau(t, y, numpy.geomspace(tau / 1.03, tau * 1.03, 61))
    design = numpy.stack([numpy.exp(-t / tau), numpy.ones_like(t)], axis=1)
    amplitude, offset = numpy.linalg.lstsq(design, y, rcond=None)[0]
    return design @ (amplitude, offset), tau, float(amplitude)


def _best_tau(t: NDArray, y: NDArray, taus: NDArray) -> float:
    """Return the tau of least squared residual of b + a exp(-t/tau)."""
    e = numpy.exp(-t[None, :] / taus[:, None])
    n = float(t.size)
    se, see, sey, sy = e.sum(1), (e * e).sum(1), e @ y, y.sum()
    det = n * see - se**2
    with numpy.errstate(invalid='ignore', divide='ignore'):
        a = (n * sey - se * sy) / det
        b = (see * sy - se * sey) / det
    residual = ((a[:, None] * e + b[:, None] - y) ** 2).sum(1)
    residual[~numpy.isfinite(residual)] = numpy.inf
    return float(taus[numpy.argmin(residual)])


def trace_figure(
    trace: NDArray,
    /,
    *,
    dt: float = 1.0,
    analysed: tuple[int, int] | None = None,
    bins: int = TRACE_BINS,
) -> Figure:
    """Plot the decimated mean intensity trace and its bleaching trend.

    The band spans each bin's minimum to maximum, the line is its mean
    and the trend a fitted exponential (:func:`bleach_trend`), whose
    time constant and total change are in the legend. The frames
    analysed, ``analysed = (first, stop)``, are shaded.

    >>> fig = trace_figure(100 + numpy.zeros(5000), dt=1e-3)
    >>> fig.axes[0].get_xlabel()
    'time (s)'

    """
    from matplotlib.figure import Figure

    centre, low, mean, high = decimate_trace(trace, bins=bins)
    trend, tau, _ = bleach_trend(centre, mean)
    seconds = dt != 1.0
    scale = dt if seconds else 1.0
    fig = Figure(figsize=(7, 3.5), layout='constrained')
    ax = fig.add_subplot()
    time = centre * scale
    if analysed is not None:
        first, stop = analysed
        ax.axvspan(
            first * scale,
            (stop - 1) * scale,
            color='C2',
            alpha=0.12,
            lw=0,
            label=f'analysed: frames {first}..{stop - 1}',
        )
    ax.fill_between(
        time, low, high, color='C0', alpha=0.25, lw=0, label='min..max per bin'
    )
    per_bin = max(1, round(len(trace) / len(centre)))
    ax.plot(time, mean, lw=1.0, color='C0', label=f'mean of {per_bin} frames')
    change = (trend[-1] - trend[0]) / trend[0] if trend[0] else math.nan
    unit = 's' if seconds else 'frames'
    ax.plot(
        time,
        trend,
        lw=1.5,
        color='C3',
        label=(
            f'exponential trend: τ = {_number(tau * scale)} {unit}, '
            f'{100 * change:+.1f} % over the record'
        ),
    )
    ax.legend(loc='best', frameon=False, fontsize='small')
    ax.set(
        title='mean intensity over time',
        xlabel='time (s)' if seconds else 'frame',
        ylabel='intensity (counts)',
    )
    ax.margins(x=0)
    return fig


def _half_scale(values: NDArray) -> float:
    """Return a power of two that lifts the largest value near 2**14.

    G values are often below float16's smallest normal number (6e-5);
    scaled, they keep float16's relative precision of 2**-11.

    """
    finite = numpy.abs(values[numpy.isfinite(values)])
    largest = float(finite.max()) if finite.size else 0.0
    if largest == 0.0:
        return 1.0
    return float(2.0 ** math.floor(math.log2(2.0**14 / largest)))


def _pack_image(image: NDArray) -> dict[str, Any]:
    """Return an image as bytes 0..254 (255: NaN) with its scale."""
    height, width = image.shape
    factor = max(1, math.ceil(max(height, width) / MAX_IMAGE_SIDE))
    if factor > 1:
        gy, gx = math.ceil(height / factor), math.ceil(width / factor)
        padded = numpy.full((gy * factor, gx * factor), numpy.nan)
        padded[:height, :width] = image
        blocks = padded.reshape(gy, factor, gx, factor)
        with numpy.errstate(invalid='ignore'):
            image = numpy.nanmean(blocks, axis=(1, 3))
    low, high = limits(image)
    scaled = numpy.clip((image - low) / (high - low), 0.0, 1.0) * 254.0
    codes = numpy.where(
        numpy.isfinite(image), numpy.rint(numpy.nan_to_num(scaled)), 255
    ).astype(numpy.uint8)
    return {
        'shape': [int(height), int(width)],
        'grid': [int(codes.shape[0]), int(codes.shape[1])],
        'factor': factor,
        'low': low,
        'high': high,
        'values': _base64(codes),
    }


def _lut(name: str) -> str:
    """Return a colour map as base64 of 256 RGB bytes."""
    import matplotlib

    cmap = matplotlib.colormaps[name]
    rgb = cmap(numpy.linspace(0.0, 1.0, 256), bytes=True)[:, :3]
    return _base64(numpy.ascontiguousarray(rgb, dtype=numpy.uint8))


def _base64(array: NDArray) -> str:
    return base64.b64encode(numpy.ascontiguousarray(array).tobytes()).decode(
        'ascii'
    )


def _bleach_text(value: Any, dt: float) -> str:
    text = str(value)
    try:
        from ..bleach import parse_method

        method, param = parse_method(text)
    except (TypeError, ValueError):
        return text
    if method == 'filter' and param:
        extra = f'{param} frames'
        if dt != 1.0:
            extra += f' = {_number(param * dt)} s'
        return f'{text} (smoothing over {extra})'
    return text


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, numpy.integer, numpy.floating)) and (
        not isinstance(value, bool)
    )


def _number(value: Any) -> str:
    if isinstance(value, (bool, numpy.bool_)):
        return str(bool(value))
    if isinstance(value, (int, numpy.integer)):
        return str(int(value))
    if isinstance(value, (float, numpy.floating)):
        return f'{float(value):.4g}'
    return str(value)


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple, numpy.ndarray)):
        return ', '.join(_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return _number(value)


def _is_timing(key: str) -> bool:
    key = key.lower()
    return key in {'timings', 'elapsed', 'seconds', 'run_time'} or (
        key.endswith('_s') or key.endswith('_seconds')
    )


_TEMPLATE = """<h2>Explore</h2>
<p class="meta">Click a pixel in the mean image or in the pCF image to see
its carpet and curves; the sliders choose the circle point and the delay of
the pCF image. Values drawn in the page from data embedded in it; {what}.
</p>
<style>
.ipcf-explore {{ display: flex; flex-wrap: wrap; gap: 1em; }}
.ipcf-panel canvas {{ display: block; cursor: crosshair; }}
.ipcf-controls {{ font-size: 0.9em; margin: 0.3em 0; }}
.ipcf-controls input {{ width: 300px; vertical-align: middle; }}
#ipcf-readout {{ font-family: ui-monospace, monospace; font-size: 0.9em; }}
</style>
<div class="ipcf-explore" id="ipcf-explore">
{mean_panel}<div class="ipcf-panel"><canvas id="ipcf-pcf" width="520"
height="420"></canvas>
<div class="ipcf-controls">circle point <input type="range" id="ipcf-point"
min="0" max="0" value="0"> <span id="ipcf-point-text"></span></div>
<div class="ipcf-controls">delay <input type="range" id="ipcf-delay" min="0"
max="0" value="0"> <span id="ipcf-delay-text"></span></div>
</div>
<div class="ipcf-panel"><canvas id="ipcf-carpet" width="520"
height="380"></canvas></div>
<div class="ipcf-panel"><canvas id="ipcf-curves" width="520"
height="380"></canvas></div>
</div>
<p id="ipcf-readout"></p>
<script type="application/json" id="ipcf-explore-data">{data}</script>
<script id="ipcf-explore-script">{script}</script>
"""

_SCRIPT = r"""
(function () {
  'use strict';
  const D = JSON.parse(
    document.getElementById('ipcf-explore-data').textContent);
  const [NY, NX, NP, NB] = D.shape;
  const [GY, GX] = D.grid;
  const STEP = D.step;
  const [Y0, X0] = D.origin;
  const PS = D.pixelSize;
  const UNIT = PS === null ? 'pixel' : '\u00b5m';
  const FONT = '12px system-ui, sans-serif';

  function bytes(text) {
    const s = atob(text);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function halves(raw) {
    // float16 decoded through a table of all 65536 codes
    const table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const f = h & 0x3ff;
      if (e === 0) table[h] = sign * f * Math.pow(2, -24);
      else if (e === 31) table[h] = f ? NaN : sign * Infinity;
      else table[h] = sign * (1 + f / 1024) * Math.pow(2, e - 15);
    }
    const codes = new Uint16Array(raw.buffer, raw.byteOffset,
                                  raw.length / 2);
    const out = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      out[i] = table[codes[i]] / D.scale;
    }
    return out;
  }
  const G = halves(bytes(D.values));
  const LUT = {};
  for (const key in D.lut) LUT[key] = bytes(D.lut[key]);

  const state = {j: D.start[0], i: D.start[1], point: 0, delay: D.delay};

  // numbers and units ----------------------------------------------------
  function fmt(v) {
    if (!isFinite(v)) return String(v);
    if (v === 0) return '0';
    const a = Math.abs(v);
    if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('.0e', 'e');
    return String(Number(v.toPrecision(3)));
  }
  function fmtDelay(v) {
    if (D.delayUnit !== 's') return fmt(v) + ' frames';
    if (v === 0 || v >= 1) return fmt(v) + ' s';
    if (v >= 1e-3) return fmt(v * 1e3) + ' ms';
    return fmt(v * 1e6) + ' \u00b5s';
  }
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    let step = mag;
    for (const m of [1, 2, 5, 10]) {
      if (m * mag >= raw) { step = m * mag; break; }
    }
    const out = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9;
         t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return out;
  }
  function percentile(values, q) {
    const finite = Array.from(values).filter(Number.isFinite);
    if (!finite.length) return NaN;
    finite.sort((a, b) => a - b);
    const pos = (finite.length - 1) * q;
    const k = Math.floor(pos);
    const f = pos - k;
    return k + 1 < finite.length ?
      finite[k] * (1 - f) + finite[k + 1] * f : finite[k];
  }
  function robust(values) {
    let lo = percentile(values, 0.01);
    let hi = percentile(values, 0.99);
    if (!isFinite(lo)) return [0, 1];
    if (!(hi > lo)) { lo -= 0.5 * (Math.abs(lo) || 1);
                      hi += 0.5 * (Math.abs(hi) || 1); }
    return [lo, hi];
  }

  // drawing ------------------------------------------------------------
  function setup(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = Number(canvas.getAttribute('width'));
    const h = Number(canvas.getAttribute('height'));
    canvas.style.width = w + 'px';
    canvas.style.height = h + 'px';
    canvas.width = Math.round(w * ratio);
    canvas.height = Math.round(h * ratio);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return {canvas: canvas, ctx: ctx, w: w, h: h};
  }
  function clear(view) {
    view.ctx.fillStyle = '#fff';
    view.ctx.fillRect(0, 0, view.w, view.h);
  }
  function colour(lut, t) {
    const k = Math.max(0, Math.min(255, Math.round(t * 255))) * 3;
    return [lut[k], lut[k + 1], lut[k + 2]];
  }
  function badColour() {
    const c = parseInt(D.bad.slice(1), 16);
    return [(c >> 16) & 255, (c >> 8) & 255, c & 255];
  }
  function raster(width, height, pick) {
    // an off-screen canvas of width x height pixels, colour pick(x, y)
    const off = document.createElement('canvas');
    off.width = width;
    off.height = height;
    const octx = off.getContext('2d');
    const image = octx.createImageData(width, height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const rgb = pick(x, y);
        const k = 4 * (y * width + x);
        image.data[k] = rgb[0];
        image.data[k + 1] = rgb[1];
        image.data[k + 2] = rgb[2];
        image.data[k + 3] = 255;
      }
    }
    octx.putImageData(image, 0, 0);
    return off;
  }
  function imageView(canvas, aspect) {
    // plotting area of height/width = aspect, at most 368 x 420 pixels
    let w = 368, h = 368 * aspect;
    if (h > 420) { h = 420; w = Math.max(80, 420 / aspect); }
    if (h < 40) h = 40;
    canvas.setAttribute('width', String(Math.round(w + 62 + 90)));
    canvas.setAttribute('height', String(Math.round(h + 26 + 42)));
    const view = setup(canvas);
    view.box = {x: 62, y: 26, w: w, h: h};
    return view;
  }
  function linear(lo, hi, start, length) {
    const at = (v) => start + (v - lo) / (hi - lo) * length;
    const inv = (p) => lo + (p - start) / length * (hi - lo);
    return {lo: lo, hi: hi, at: at, inv: inv};
  }
  function logScale(lo, hi, start, length) {
    const a = Math.log10(lo), b = Math.log10(hi);
    const at = (v) => start + (Math.log10(v) - a) / (b - a) * length;
    return {lo: lo, hi: hi, at: at};
  }
  function linearTicks(scale, count) {
    const lo = Math.min(scale.lo, scale.hi), hi = Math.max(scale.lo, scale.hi);
    const ticks = niceTicks(lo, hi, count);
    return ticks.map((t) => [scale.at(t), fmtTick(t, ticks)]);
  }
  // as many decimals as the tick step needs, so that labels differ
  function fmtTick(t, ticks) {
    const a = Math.max(...ticks.map(Math.abs));
    if (ticks.length < 2 || t === 0 || a >= 1e5 || a < 1e-3) return fmt(t);
    const step = Math.abs(ticks[1] - ticks[0]);
    const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return t.toFixed(Math.min(digits, 6));
  }
  function decades(lo, hi) {
    const out = [];
    const a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi));
    const few = b - a < 3;
    for (let e = a; e <= b; e++) {
      for (const m of few ? [1, 2, 5] : [1]) {
        const t = m * Math.pow(10, e);
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push(t);
      }
    }
    return out;
  }
  function frame(view, box, xticks, yticks, xlabel, ylabel, title) {
    const ctx = view.ctx;
    ctx.strokeStyle = '#222';
    ctx.lineWidth = 1;
    ctx.strokeRect(box.x, box.y, box.w, box.h);
    ctx.fillStyle = '#222';
    ctx.font = FONT;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const [p, label] of xticks) {
      ctx.beginPath();
      ctx.moveTo(p, box.y + box.h);
      ctx.lineTo(p, box.y + box.h + 4);
      ctx.stroke();
      ctx.fillText(label, p, box.y + box.h + 6);
    }
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const [p, label] of yticks) {
      ctx.beginPath();
      ctx.moveTo(box.x, p);
      ctx.lineTo(box.x - 4, p);
      ctx.stroke();
      ctx.fillText(label, box.x - 6, p);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(xlabel, box.x + box.w / 2, view.h - 2);
    ctx.save();
    ctx.translate(12, box.y + box.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'top';
    ctx.fillText(ylabel, 0, -10);
    ctx.restore();
    ctx.textBaseline = 'top';
    ctx.font = 'bold ' + FONT;
    ctx.fillText(title, view.w / 2, 4);
    ctx.font = FONT;
  }
  function colourbar(view, box, lut, lo, hi, label) {
    const ctx = view.ctx;
    const bar = {x: box.x + box.w + 14, y: box.y, w: 12, h: box.h};
    const off = raster(1, 256, (x, y) => colour(lut, 1 - y / 255));
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, bar.x, bar.y, bar.w, bar.h);
    ctx.strokeStyle = '#222';
    ctx.strokeRect(bar.x, bar.y, bar.w, bar.h);
    const scale = linear(hi, lo, bar.y, bar.h);
    ctx.fillStyle = '#222';
    ctx.font = FONT;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const [p, text] of linearTicks(scale, 6)) {
      ctx.fillText(text, bar.x + bar.w + 3, p);
    }
    ctx.save();
    ctx.translate(view.w - 4, bar.y + bar.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(label, 0, 0);
    ctx.restore();
  }
  // axis coordinates of input pixel rows/columns a..b (inclusive edges)
  function edge(index) { return PS === null ? index - 0.5 : index * PS; }
  function toPixel(value) {
    return PS === null ? Math.round(value) : Math.floor(value / PS);
  }
  function spatialTicks(view, box, y0, y1, x0, x1) {
    const sx = linear(edge(x0), edge(x1 + 1), box.x, box.w);
    const sy = linear(edge(y0), edge(y1 + 1), box.y, box.h);
    return {sx: sx, sy: sy, xt: linearTicks(sx, 5), yt: linearTicks(sy, 6)};
  }
  function marker(ctx, px, py) {
    ctx.strokeStyle = '#e00';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(px - 7, py); ctx.lineTo(px + 7, py);
    ctx.moveTo(px, py - 7); ctx.lineTo(px, py + 7);
    ctx.stroke();
    ctx.lineWidth = 1;
  }
  function cellPixels(j, i) {
    const y = Y0 + j * STEP, x = X0 + i * STEP;
    return [y, Math.min(y + STEP, Y0 + NY) - 1,
            x, Math.min(x + STEP, X0 + NX) - 1];
  }
  function value(j, i, p, k) {
    return G[((j * GX + i) * NP + p) * NB + k];
  }

  // views ----------------------------------------------------------------
  const views = {};
  const meanCanvas = document.getElementById('ipcf-mean');
  if (meanCanvas && D.mean) {
    views.mean = imageView(meanCanvas, D.mean.shape[0] / D.mean.shape[1]);
  }
  views.pcf = imageView(document.getElementById('ipcf-pcf'), GY / GX);
  views.carpet = setup(document.getElementById('ipcf-carpet'));
  views.curves = setup(document.getElementById('ipcf-curves'));
  const pointInput = document.getElementById('ipcf-point');
  const delayInput = document.getElementById('ipcf-delay');
  pointInput.max = String(NP - 1);
  delayInput.max = String(NB - 1);
  pointInput.value = String(state.point);
  delayInput.value = String(state.delay);

  let meanRaster = null;
  function drawMean() {
    const view = views.mean;
    if (!view) return;
    const M = D.mean;
    const [H, W] = M.shape;
    const [MH, MW] = M.grid;
    if (meanRaster === null) {
      const codes = bytes(M.values);
      const bad = badColour();
      meanRaster = raster(MW, MH, (x, y) => {
        const c = codes[y * MW + x];
        return c === 255 ? bad : colour(LUT.intensity, c / 254);
      });
    }
    clear(view);
    const box = view.box;
    const ctx = view.ctx;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(meanRaster, 0, 0, MW, MH, box.x, box.y,
                  box.w * MW * M.factor / W, box.h * MH * M.factor / H);
    const t = spatialTicks(view, box, 0, H - 1, 0, W - 1);
    // analysed pixels
    ctx.strokeStyle = '#f80';
    ctx.lineWidth = 1.5;
    const ax = t.sx.at(edge(X0)), ay = t.sy.at(edge(Y0));
    ctx.strokeRect(ax, ay, t.sx.at(edge(X0 + NX)) - ax,
                   t.sy.at(edge(Y0 + NY)) - ay);
    const [ya, yb, xa, xb] = cellPixels(state.j, state.i);
    if (STEP > 1) {
      ctx.strokeStyle = '#e00';
      const bx = t.sx.at(edge(xa)), by = t.sy.at(edge(ya));
      ctx.strokeRect(bx, by, t.sx.at(edge(xb + 1)) - bx,
                     t.sy.at(edge(yb + 1)) - by);
    }
    marker(ctx, t.sx.at((edge(xa) + edge(xb + 1)) / 2),
           t.sy.at((edge(ya) + edge(yb + 1)) / 2));
    frame(view, box, t.xt, t.yt, 'x (' + UNIT + ')', 'y (' + UNIT + ')',
          'mean intensity; analysed pixels in orange');
    colourbar(view, box, LUT.intensity, M.low, M.high, 'intensity (counts)');
    view.scales = t;
    view.canvas.dataset.box = [box.x, box.y, box.w, box.h].join(',');
  }

  function drawPcf() {
    const view = views.pcf;
    clear(view);
    const p = state.point, k = state.delay;
    const plane = new Float32Array(GY * GX);
    for (let j = 0; j < GY; j++) {
      for (let i = 0; i < GX; i++) plane[j * GX + i] = value(j, i, p, k);
    }
    const [lo, hi] = robust(plane);
    const bad = badColour();
    const off = raster(GX, GY, (x, y) => {
      const v = plane[y * GX + x];
      return isFinite(v) ? colour(LUT.values, (v - lo) / (hi - lo)) : bad;
    });
    const box = view.box;
    const ctx = view.ctx;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, box.x, box.y, box.w, box.h);
    const t = spatialTicks(view, box, Y0, Y0 + GY * STEP - 1,
                           X0, X0 + GX * STEP - 1);
    const [ya, yb, xa, xb] = cellPixels(state.j, state.i);
    marker(ctx, t.sx.at((edge(xa) + edge(xb + 1)) / 2),
           t.sy.at((edge(ya) + edge(yb + 1)) / 2));
    frame(view, box, t.xt, t.yt, 'x (' + UNIT + ')', 'y (' + UNIT + ')',
          'G toward (u=' + D.u[p] + ', v=' + D.v[p] + ') at ' +
          fmtDelay(D.delays[k]));
    colourbar(view, box, LUT.values, lo, hi, 'G');
    view.scales = t;
    view.canvas.dataset.box = [box.x, box.y, box.w, box.h].join(',');
    document.getElementById('ipcf-point-text').textContent =
      p + ': u=' + D.u[p] + ', v=' + D.v[p] + ' pixel, ' +
      fmt(D.angle[p]) + '\u00b0, ' + (PS === null ?
        fmt(D.distance[p]) + ' pixel' : fmt(D.distance[p] * PS) + ' \u00b5m');
    document.getElementById('ipcf-delay-text').textContent =
      'bin ' + k + ': ' + fmtDelay(D.delays[k]);
  }

  function delayTicks(at) {
    // decades of the delay axis through positions of the bins' delays
    const pos = D.delays.slice(1).filter((d) => d > 0);
    if (pos.length < 2) return [];
    return decades(pos[0], pos[pos.length - 1]).map(
      (t) => [at(t), fmtDelay(t)]);
  }

  function drawCarpet() {
    const view = views.carpet;
    clear(view);
    const {j, i} = state;
    const values = new Float32Array(NP * NB);
    for (let p = 0; p < NP; p++) {
      for (let k = 0; k < NB; k++) values[p * NB + k] = value(j, i, p, k);
    }
    const [lo, hi] = robust(values);
    const bad = badColour();
    const off = raster(NB, NP, (x, y) => {
      const v = values[y * NB + x];
      return isFinite(v) ? colour(LUT.values, (v - lo) / (hi - lo)) : bad;
    });
    const box = {x: 62, y: 26, w: view.w - 62 - 90, h: view.h - 26 - 42};
    const ctx = view.ctx;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, box.x, box.y, box.w, box.h);
    // columns are bins: a decade's place interpolates log(delay)
    const column = (t) => {
      for (let k = 1; k < NB - 1; k++) {
        const a = D.delays[k], b = D.delays[k + 1];
        if (t >= a && t <= b) {
          const f = (Math.log(t) - Math.log(a)) / (Math.log(b) - Math.log(a));
          return box.x + (k + f + 0.5) / NB * box.w;
        }
      }
      return box.x + (NB - 0.5) / NB * box.w;
    };
    const xt = delayTicks(column);
    const zero = box.x + 0.5 / NB * box.w;
    if (!xt.length || xt[0][0] - zero > 30) xt.unshift([zero, '0']);
    const yt = [];
    for (let p = 0; p < NP; p++) {
      if (Math.abs(D.angle[p] % 90) < 1e-6 || NP <= 8) {
        yt.push([box.y + (p + 0.5) / NP * box.h, fmt(D.angle[p]) + '\u00b0']);
      }
    }
    // the point and delay of the pCF image
    ctx.strokeStyle = '#e00';
    ctx.strokeRect(box.x, box.y + state.point / NP * box.h, box.w,
                   box.h / NP);
    ctx.strokeRect(box.x + state.delay / NB * box.w, box.y, box.w / NB,
                   box.h);
    const [ya, yb, xa, xb] = cellPixels(j, i);
    frame(view, box, xt, yt, 'delay',
          'direction of the neighbour', 'carpet of ' + where(ya, yb, xa, xb));
    colourbar(view, box, LUT.values, lo, hi, 'G');
    view.canvas.dataset.box = [box.x, box.y, box.w, box.h].join(',');
  }

  function drawCurves() {
    const view = views.curves;
    clear(view);
    const {j, i} = state;
    const first = NB > 1 ? 1 : 0;
    let lo = Infinity, hi = -Infinity;
    for (let p = 0; p < NP; p++) {
      for (let k = first; k < NB; k++) {
        const v = value(j, i, p, k);
        if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      }
    }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (!(hi > lo)) { lo -= 1e-6; hi += 1e-6; }
    const pad = 0.05 * (hi - lo);
    const box = {x: 70, y: 26, w: view.w - 70 - 20, h: view.h - 26 - 42};
    const d0 = D.delays[first] || 1, d1 = D.delays[NB - 1] || 1;
    const positive = D.delays[first] > 0 && d1 > d0;
    const sx = positive ? logScale(d0, d1, box.x, box.w) :
      linear(d0 - 0.5, d1 + 0.5, box.x, box.w);
    const sy = linear(hi + pad, lo - pad, box.y, box.h);
    const ctx = view.ctx;
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.x, box.y, box.w, box.h);
    ctx.clip();
    if (lo - pad < 0 && hi + pad > 0) {
      ctx.strokeStyle = '#999';
      ctx.beginPath();
      ctx.moveTo(box.x, sy.at(0));
      ctx.lineTo(box.x + box.w, sy.at(0));
      ctx.stroke();
    }
    const line = (p, width, rgb) => {
      ctx.strokeStyle = 'rgb(' + rgb.join(',') + ')';
      ctx.lineWidth = width;
      ctx.beginPath();
      let open = false;
      for (let k = first; k < NB; k++) {
        const v = value(j, i, p, k);
        if (!isFinite(v)) { open = false; continue; }
        const px = sx.at(D.delays[k]), py = sy.at(v);
        if (open) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        open = true;
      }
      ctx.stroke();
    };
    for (let p = 0; p < NP; p++) {
      line(p, 1, colour(LUT.angle, D.angle[p] / 360));
    }
    line(state.point, 3, [0, 0, 0]);
    ctx.restore();
    ctx.lineWidth = 1;
    const xt = positive ? delayTicks(sx.at) : linearTicks(sx, 5);
    const [ya, yb, xa, xb] = cellPixels(j, i);
    frame(view, box, xt, linearTicks(sy, 6), 'delay',
          'G', 'curves of ' + where(ya, yb, xa, xb));
    ctx.fillStyle = '#222';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'top';
    ctx.fillText('black: point ' + state.point + ' (' +
                 fmt(D.angle[state.point]) + '\u00b0); colour: angle',
                 box.x + box.w - 4, box.y + 4);
    view.canvas.dataset.box = [box.x, box.y, box.w, box.h].join(',');
  }

  function where(ya, yb, xa, xb) {
    if (STEP === 1) return 'pixel y=' + ya + ', x=' + xa;
    return 'pixels y=' + ya + '..' + yb + ', x=' + xa + '..' + xb;
  }

  function readout() {
    const {j, i, point, delay} = state;
    const [ya, yb, xa, xb] = cellPixels(j, i);
    const v = value(j, i, point, delay);
    let text = where(ya, yb, xa, xb);
    if (PS !== null) {
      text += ' (x ' + fmt(edge(xa)) + '..' + fmt(edge(xb + 1)) + ' \u00b5m,' +
        ' y ' + fmt(edge(ya)) + '..' + fmt(edge(yb + 1)) + ' \u00b5m)';
    }
    text += '; G toward point ' + point + ' at ' +
      fmtDelay(D.delays[delay]) + ' = ' +
      (isFinite(v) ? v.toPrecision(4) : 'no value');
    document.getElementById('ipcf-readout').textContent = text;
  }

  function drawAll() {
    drawMean();
    drawPcf();
    drawCarpet();
    drawCurves();
    readout();
  }

  function pick(view, event) {
    if (!view.scales) return;
    const rect = view.canvas.getBoundingClientRect();
    const px = event.clientX - rect.left, py = event.clientY - rect.top;
    const box = view.box;
    if (px < box.x || px > box.x + box.w || py < box.y ||
        py > box.y + box.h) return;
    const y = toPixel(view.scales.sy.inv(py));
    const x = toPixel(view.scales.sx.inv(px));
    const j = Math.floor((y - Y0) / STEP), i = Math.floor((x - X0) / STEP);
    if (j < 0 || j >= GY || i < 0 || i >= GX) {
      document.getElementById('ipcf-readout').textContent =
        'pixel y=' + y + ', x=' + x + ' is outside the analysed pixels';
      return;
    }
    state.j = j;
    state.i = i;
    drawAll();
  }

  for (const name of ['mean', 'pcf']) {
    const view = views[name];
    if (view) view.canvas.addEventListener('click', (e) => pick(view, e));
  }
  pointInput.addEventListener('input', () => {
    state.point = Number(pointInput.value);
    drawPcf(); drawCarpet(); drawCurves(); readout();
  });
  delayInput.addEventListener('input', () => {
    state.delay = Number(delayInput.value);
    drawPcf(); drawCarpet(); readout();
  });
  drawAll();
})();
"""
