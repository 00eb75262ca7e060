"""Fixtures shared by the test modules.

``result`` and ``stored`` build on fixtures of the module that uses them:
``series`` (T, H, W), the ``mask`` of its centre pixels and, for
``stored``, the ``series_metadata`` written with the series.

"""

import pytest

import ipcf


@pytest.fixture(scope='module')
def result(series, mask):
    """The module's series analysed by the reference engine."""
    return ipcf.pcf_image(
        series,
        radius=2,
        npoints=8,
        nbins=8,
        dt=1e-3,
        mask=mask,
        engine='reference',
    )


@pytest.fixture(scope='module')
def stored(tmp_path_factory, series, result, series_metadata):
    """Paths of the series (.bin with metadata) and its stored result."""
    tmp = tmp_path_factory.mktemp('stored')
    data_path = ipcf.io.imwrite(
        tmp / 'series.bin', series, metadata=series_metadata
    )
    result_path = ipcf.save_result(
        result, tmp / 'result.h5', source=str(data_path)
    )
    return data_path, result_path


def _spots_in_two_channels(
    *, seed, frames, planes, size, count, step, step_per_plane=0.0
):
    """Particles diffusing in each plane, seen by both channels.

    Returns uint16 (T, 2, Z, Y, X): the same particles in both channels,
    with other brightness and background and their own Poisson noise;
    plane k's particles step `step + k * step_per_plane` pixels.

    """
    import numpy

    rng = numpy.random.default_rng(seed)
    out = numpy.empty((frames, 2, planes, size, size), numpy.uint16)
    grid = numpy.arange(size, dtype=numpy.float64)
    for k in range(planes):
        start = rng.uniform(0, size, (count, 2))
        sigma = step + k * step_per_plane
        steps = rng.normal(0, sigma, (frames, count, 2))
        where = (start + numpy.cumsum(steps, axis=0)) % size
        gy = numpy.exp(-((grid - where[..., :1]) ** 2) / (2 * 1.3**2))
        gx = numpy.exp(-((grid - where[..., 1:]) ** 2) / (2 * 1.3**2))
        image = numpy.einsum('tny,tnx->tyx', gy, gx)
        out[:, 0, k] = rng.poisson(20 + 60 * image)
        out[:, 1, k] = rng.poisson(30 + 40 * image)
    return out


def _write_cell(path, stack, names, **metadata):
    """Write stack (T, C, Z, Y, X) as an OME-TIFF with units and names."""
    import tifffile

    tifffile.imwrite(
        path,
        stack,
        ome=True,
        metadata={
            'axes': 'TCZYX',
            'PhysicalSizeX': 0.1,
            'PhysicalSizeY': 0.1,
            'TimeIncrement': 0.001,
            'TimeIncrementUnit': 's',
            'Channel': {'Name': names},
            **metadata,
        },
    )
    return path


@pytest.fixture(scope='session')
def two_channel_spots():
    """The simulation of particles in planes seen by two channels."""
    return _spots_in_two_channels


@pytest.fixture(scope='session')
def write_cell():
    """A writer of (T, C, Z, Y, X) stacks as OME-TIFF with units."""
    return _write_cell


@pytest.fixture
def interrupt_after(monkeypatch):
    """Make the pipeline stop with KeyboardInterrupt after n blocks.

    ``resume = interrupt_after(n)`` patches the block computation;
    ``resume()`` lets every block run again.

    """
    from ipcf import pipeline

    compute = pipeline._compute_block

    def stop_after(count):
        calls = []

        def failing(specs, *args):
            # a task may hold several blocks: run those before the stop
            left = count - len(calls)
            if left <= 0:
                raise KeyboardInterrupt
            calls.extend(specs[:left])
            done = compute(specs[:left], *args)
            if left < len(specs):
                raise KeyboardInterrupt
            return done

        monkeypatch.setattr(pipeline, '_compute_block', failing)
        return lambda: monkeypatch.setattr(pipeline, '_compute_block', compute)

    return stop_after
