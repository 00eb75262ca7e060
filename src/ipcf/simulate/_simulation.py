"""In-memory series: the :class:`Simulation` result and the plain run.

:func:`run` places the particles in a domain, has them rendered frame by
frame (:mod:`ipcf.simulate._render`) and records the ground truth
(:func:`base_truth` and the entries every series shares); the public
functions :func:`ipcf.simulate.free`, :func:`~ipcf.simulate.channel`,
:func:`~ipcf.simulate.flow`, :func:`~ipcf.simulate.barrier` and the
simulations of :mod:`ipcf.simulate._compartments` check their arguments
and build the domain.

"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import numpy

from ._motion import populations
from ._parameters import Parameters
from ._render import (
    BLEACH_STREAM,
    Layer,
    bleached_counts,
    place,
    render_series,
)

__all__ = [
    'UNITS',
    'UNITS_VOLUME',
    'Simulation',
    'base_truth',
    'bleach_truth',
    'run',
    'volume_truth',
]

UNITS = {
    'diffusion': 'um^2/s',
    'velocity': 'um/s',
    'pixel_size': 'um',
    'frame_time': 's',
    'psf_radius': 'um (1/e^2 radius)',
    'density': 'particles/um^2',
    'brightness': 'photons/particle/frame',
    'background': 'photons/pixel/frame',
    'offset': 'counts',
    'geometry': 'um; keys ending in _px: pixels; angles: degrees',
}
"""Units of the ground truth's values, stored in it as ``units``."""

UNITS_VOLUME = {
    **UNITS,
    'pixel_size_z': 'um',
    'psf_z': 'um (1/e^2 radius)',
    'density': 'particles/um^3',
    'geometry': (
        'um; keys ending in _px: voxels (x, y in pixels, z in planes); '
        'angles: degrees'
    ),
}
"""Units of the ground truth of a volume series."""


@dataclasses.dataclass(frozen=True, eq=False)
class Simulation:
    """Simulated image series and its ground truth.

    Parameters
    ----------
    data : ndarray, shape (T, H, W), (T, X), (T, 2, H, W) or (T, Z, H, W)
        Camera counts, of the ``dtype`` asked for (uint16 by default);
        a line-scan carpet or the counts of a detector array
        (:func:`ipcf.simulate.line_scan`,
        :func:`ipcf.simulate.detector_array`); two channels along axis 1
        (:func:`ipcf.simulate.two_species`), or a volume series
        (``truth['axes']`` is ``'TZYX'``).
    truth : dict
        JSON-serializable parameters of the simulation: ``kind``,
        ``shape``, ``dtype``, ``diffusion`` (µm²/s), ``pixel_size`` (µm),
        ``frame_time`` (s), ``psf_radius`` (µm, 1/e² radius), ``density``
        (particles/µm²), ``brightness``, ``background``, ``offset``,
        ``seed`` (the seed used, also when None was given), ``particles``
        (number simulated), ``geometry`` (boundaries, in µm and pixels),
        ``units`` and ``package``. Volumes add ``axes`` (``'TZYX'``),
        ``pixel_size_z`` (µm) and ``psf_z`` (µm, axial 1/e² radius);
        their ``density`` is per µm³. A series with bleaching adds
        ``bleach_time`` (s, the mean emitting time of a particle) and
        ``bleached`` (particles dark by the last frame).

        :func:`~ipcf.simulate.free` and :func:`~ipcf.simulate.two_species`
        add ``concentration`` (particles per µm², µm³ for volumes) and
        ``species``, a list with one dict per species of particles,
        each with the keys:

        - ``name``: ``'S1'``, ``'S2'``... (``'A'``, ``'AB'``, ``'B'``
          for two species);
        - ``diffusion`` (µm²/s) and ``brightness`` (photons per
          particle and frame, in each channel it shows in);
        - ``fraction``: its share of the particles, as asked for;
        - ``particles``: how many were simulated, and ``concentration``,
          their number over the simulated area (volume);

        and where they apply ``immobile_particles``, ``bleached``,
        ``signal`` and ``immobile_signal`` (mean photons per pixel and
        frame, of all its particles and of the immobile ones), and
        ``channels`` (the channels it shows in, from 1).

    Examples
    --------
    >>> from ipcf.simulate import free
    >>> sim = free(shape=(4, 8, 8), seed=0)
    >>> sim
    Simulation(kind='free', shape=(4, 8, 8), dtype=uint16, seed=0)

    """

    data: numpy.ndarray
    truth: dict[str, Any]

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(kind={self.truth.get("kind")!r}, '
            f'shape={self.data.shape}, dtype={self.data.dtype}, '
            f'seed={self.truth.get("seed")})'
        )

    @property
    def volume(self) -> bool:
        """Whether the data are a volume series (T, Z, H, W)."""
        return self.truth.get('axes') == 'TZYX'

    def save(self, path: Any, /, *, overwrite: bool = False) -> pathlib.Path:
        """Write the data with the truth as metadata.

        Parameters
        ----------
        path : str or os.PathLike
            Output file; the suffix picks the format (``.bin`` with a JSON
            sidecar, ``.tif``, ``.h5``, ``.zarr``); see
            :func:`ipcf.io.imwrite`. What goes in, by the data's shape:

            - an image series (T, H, W): as it is;
            - a line scan or detector counts (T, X): one line per frame,
              ``(T, 1, X)``, which :func:`ipcf.line.open_carpet`,
              ``ipcf line`` and ``ipcf detectors`` read back (and
              :func:`ipcf.io.open_series` opens as ``(T, 1, X)``);
            - two channels (T, 2, H, W): two files of shape (T, H, W),
              ``_ch1`` and ``_ch2`` inserted before the suffix
              (:meth:`channel_paths`), ready for ``ipcf analyze
              cells_ch1.h5 out.h5 --neighbour cells_ch2.h5``;
            - a volume series (T, Z, H, W): a TIFF (``.tif``, or
              ``.ome.tif`` for OME-TIFF) with axes ``TZYX``, which
              :func:`ipcf.io.open_series` and :func:`ipcf.pcf_image`
              read as a volume. Other formats are refused: ipcf reads
              only 3-D datasets from them.
        overwrite : bool, optional, default: False
            Replace an existing file instead of raising.

        Returns
        -------
        pathlib.Path
            The file written (the first one of two channels).

        Raises
        ------
        FileExistsError
            If an output exists and `overwrite` is False.
        ValueError
            If a volume series is to go to another format than TIFF.

        Examples
        --------
        >>> import tempfile
        >>> from ipcf.simulate import line_scan
        >>> from ipcf.line import open_carpet
        >>> sim = line_scan(shape=(64, 16), seed=0)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     carpet, line_time = open_carpet(sim.save(f'{tmp}/line.h5'))
        ...     carpet.shape, line_time
        ...     del carpet
        ((64, 1, 16), 0.001)

        """
        from ..io import imwrite

        if self.volume:
            return _write_volume(
                pathlib.Path(path), self.data, self.truth, overwrite=overwrite
            )
        if self.data.ndim == 2:
            # a line (or the elements of a detector array) per frame
            lines = self.data[:, None, :]
            return imwrite(
                path, lines, metadata=self.truth, overwrite=overwrite
            )
        if self.data.ndim == 3:
            return imwrite(
                path, self.data, metadata=self.truth, overwrite=overwrite
            )
        paths = self.channel_paths(path)
        if not overwrite:
            for each in paths:
                if each.exists():
                    msg = f'{str(each)!r} exists; pass overwrite=True'
                    raise FileExistsError(msg)
        for index, each in enumerate(paths):
            truth = {**self.truth, 'channel': index + 1}
            truth['shape'] = [self.data.shape[0], *self.data.shape[2:]]
            imwrite(
                each, self.data[:, index], metadata=truth, overwrite=overwrite
            )
        return paths[0]

    def channel_paths(self, path: Any, /) -> list[pathlib.Path]:
        """Return the files that :meth:`save` writes the channels to.

        One file, `path`, for a series of one channel (a line scan and a
        volume series too); for several,
        ``_ch1``, ``_ch2``... inserted before the suffix, each holding
        channel ``k`` as ``(T, H, W)`` with the truth and ``channel: k``.

        >>> from ipcf.simulate import two_species
        >>> sim = two_species(shape=(4, 8, 8), seed=0)
        >>> [p.name for p in sim.channel_paths('cells.h5')]
        ['cells_ch1.h5', 'cells_ch2.h5']

        """
        path = pathlib.Path(path)
        if self.data.ndim != 4 or self.volume:
            return [path]
        return [
            path.with_name(f'{path.stem}_ch{index + 1}{path.suffix}')
            for index in range(self.data.shape[1])
        ]


def _write_volume(
    path: pathlib.Path,
    data: numpy.ndarray,
    truth: dict[str, Any],
    /,
    *,
    overwrite: bool,
) -> pathlib.Path:
    """Write a volume series (T, Z, H, W) to a TIFF with axes TZYX.

    The truth goes where :func:`ipcf.io.read_metadata` finds it, as
    :func:`ipcf.io.imwrite` puts it: private tag 65000 of an OME-TIFF,
    else the JSON description that tifffile writes.

    """
    import json

    import tifffile

    from .._files import file_kind, publishing
    from ..io.tiff import _BIGTIFF_BYTES, _METADATA_TAG

    if file_kind(path) != 'tiff':
        msg = (
            f'{str(path)!r}: a volume series (T, Z, H, W) is written as a '
            'TIFF (.tif or .ome.tif), which ipcf reads with its z axis'
        )
        raise ValueError(msg)
    text = json.dumps(truth)
    ome = path.name.lower().endswith(('.ome.tif', '.ome.tiff'))
    metadata: dict[str, Any] = {'axes': 'TZYX'}
    extratags = []
    if ome:
        extratags.append((_METADATA_TAG, 's', 0, text, True))
    else:
        metadata['metadata'] = truth
    path.parent.mkdir(parents=True, exist_ok=True)
    with publishing(path, overwrite=overwrite) as part:
        tifffile.imwrite(
            part,
            data,
            bigtiff=data.nbytes > _BIGTIFF_BYTES,
            ome=ome,
            photometric='minisblack',
            metadata=metadata,
            extratags=extratags,
        )
    return path


def base_truth(
    kind: str,
    params: Parameters,
    count: int,
    geometry: dict[str, Any],
    /,
) -> dict[str, Any]:
    """Return the truth entries every image and volume series records."""
    from .. import __version__

    return {
        'kind': kind,
        'shape': list(params.shape),
        'dtype': params.dtype.name,
        'diffusion': (
            [float(v) for v in params.diffusion]
            if isinstance(params.diffusion, tuple)
            else params.diffusion
        ),
        'pixel_size': params.pixel_size,
        'frame_time': params.frame_time,
        'psf_radius': params.psf_radius,
        'density': params.density,
        'brightness': params.brightness,
        'background': params.background,
        'offset': params.offset,
        'seed': params.seed,
        'particles': count,
        'geometry': geometry,
        'units': dict(UNITS),
        'package': f'ipcf {__version__}',
    }


def volume_truth(params: Parameters, truth: dict[str, Any], /) -> None:
    """Add the axes, z voxel size and axial PSF of a volume to truth."""
    if params.volume:
        truth['axes'] = 'TZYX'
        truth['pixel_size_z'] = params.pixel_size_z
        truth['psf_z'] = params.psf_z
        truth['units'] = dict(UNITS_VOLUME)


def bleach_truth(
    truth: dict[str, Any], bleach_time: float | None, bleached: int | None, /
) -> None:
    """Add the bleach time, the particles bleached and its unit to truth."""
    truth['bleach_time'] = bleach_time
    if bleached is not None:
        truth['bleached'] = bleached
    truth['units']['bleach_time'] = 's (mean emitting time of a particle)'


def run(
    kind: str,
    params: Parameters,
    domain: Any,
    geometry: dict[str, Any],
    /,
    *,
    progress: bool,
    velocity: tuple[float, float] | None = None,
    bleach_time: float | None = None,
    bleach_stream: int = BLEACH_STREAM,
) -> Simulation:
    """Return the simulation of particles moving in domain.

    `velocity` (µm/s along x and y) adds a drift to every step;
    `bleach_time` (s) bleaches every particle at a time drawn from an
    exponential distribution of that mean, from random stream
    `bleach_stream` (see :mod:`ipcf.simulate._render`); `geometry`
    describes the domain in the truth.

    """
    particles = place(
        params, domain, bleach_time=bleach_time, bleach_stream=bleach_stream
    )
    count = particles.count
    shares = None
    sigma: float | numpy.ndarray = params.sigma
    if params.fraction is not None:
        shares, sigma = populations(params.fraction, params.sigmas, count)
    drift = None
    if velocity is not None:
        scale = params.frame_time / params.pixel_size
        drift = (velocity[0] * scale, velocity[1] * scale)
    data, _ = render_series(
        params,
        domain,
        particles,
        [Layer(slice(0, count), params.brightness)],
        sigma=sigma,
        drift=drift,
        progress=progress,
        desc=f'simulate {kind}',
    )
    truth = base_truth(kind, params, count, geometry)
    volume_truth(params, truth)
    if shares is not None:
        truth['fraction'] = list(params.fraction)
        truth['populations'] = shares
    if velocity is not None:
        truth['velocity'] = list(velocity)
    if bleach_time is not None:
        (bleached,) = bleached_counts(
            particles, [slice(0, count)], params.shape[0]
        )
        bleach_truth(truth, bleach_time, bleached)
    return Simulation(data=data, truth=truth)
