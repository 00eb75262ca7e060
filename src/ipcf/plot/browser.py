"""Jupyter widget that browses the frames of an image series.

:func:`browse` needs ipywidgets (``pip install ipcf[all]``); it reads only
the frame shown, so series of many gigabytes open at once.

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units
from .._validate import check_int, check_positive, check_string
from ._common import INTENSITY, colormap

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ['browse']


def browse(
    source: Any,
    /,
    *,
    key: str | None = None,
    dt: float | None = None,
    width: int = 512,
) -> Any:
    """Return a Jupyter widget that browses the frames of an image series.

    A frame slider and a contrast range slider over the frame image. Only
    the frame shown is read, so even series of many gigabytes open at
    once.

    Parameters
    ----------
    source : str, path, sequence of paths, or array_like
        What :func:`ipcf.open_series` opens: a TIFF file or series,
        HDF5 or zarr store, raw file, or a ``(T, H, W)`` array.
    key : str, optional
        HDF5 and zarr: the dataset, as for :func:`ipcf.open_series`.
    dt : float, optional
        Frame interval in seconds (> 0), shown with the frame number.
        Default: the frame interval of the metadata, if any.
    width : int, optional, default: 512
        Width of the displayed image in screen pixels, >= 16.

    Returns
    -------
    ipywidgets.VBox
        The image (``children[0]``), the frame slider (``children[1]``),
        the contrast slider (``children[2]``) and a status line
        (``children[3]``).

    Raises
    ------
    ImportError
        If ipywidgets is not installed.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (8, 16, 16))
    >>> widget = browse(data)
    >>> widget.children[1].value = 5  # show frame 5

    """
    try:
        import ipywidgets
    except ImportError as exc:
        msg = 'browse needs ipywidgets; install ipcf[all] or ipywidgets'
        raise ImportError(msg) from exc
    from matplotlib.colors import Normalize

    from .. import io

    width = check_int(width, 'width', minimum=16)
    if dt is not None:
        dt = check_positive(dt, 'dt')
    if key is None:
        series = io.open_frames(source)
    else:
        series = io.open_frames(source, key=check_string(key, 'key'))
    if dt is None:
        dt = physical_units(source)['frame_interval']
    nframes, height, _ = series.shape
    # contrast range from a few frames: first, middle, last
    sample = numpy.stack(
        [numpy.asarray(series[i]) for i in {0, nframes // 2, nframes - 1}]
    ).astype(numpy.float64)
    low = float(numpy.nanmin(sample))
    high = float(numpy.nanmax(sample))
    if high <= low:
        high = low + 1.0
    start = numpy.nanpercentile(sample, [0.5, 99.5])
    cmap = colormap(INTENSITY)

    image = ipywidgets.Image(format='png', width=width)
    frame = ipywidgets.IntSlider(
        value=0,
        min=0,
        max=nframes - 1,
        description='frame',
        continuous_update=False,
        layout=ipywidgets.Layout(width=f'{max(width, 300)}px'),
    )
    contrast = ipywidgets.FloatRangeSlider(
        value=(float(start[0]), float(max(start[1], start[0] + 1e-9))),
        min=low,
        max=high,
        step=(high - low) / 1000,
        description='contrast',
        continuous_update=False,
        readout_format='.4g',
        layout=ipywidgets.Layout(width=f'{max(width, 300)}px'),
    )
    status = ipywidgets.Label()

    def render(change: Any = None) -> None:
        values = numpy.asarray(series[frame.value], dtype=numpy.float64)
        norm = Normalize(*contrast.value, clip=True)
        rgba = cmap(norm(values), bytes=True)
        image.value = _png_bytes(rgba)
        when = f' ({frame.value * dt:.6g} s)' if dt else ''
        status.value = (
            f'frame {frame.value} of {nframes}{when}; '
            f'{height}x{values.shape[1]} {series.dtype}; '
            f'min {values.min():.6g}, max {values.max():.6g}'
        )

    frame.observe(render, names='value')
    contrast.observe(render, names='value')
    render()
    return ipywidgets.VBox([image, frame, contrast, status])


def _png_bytes(rgba: NDArray) -> bytes:
    import io as _io

    from matplotlib.image import imsave

    buffer = _io.BytesIO()
    imsave(buffer, rgba, format='png')
    return buffer.getvalue()
