"""The 3-D pCF of volume series: the sphere, the engines, pcf_image.

Every engine's volume result is checked against the reference engine's
direct loop over voxels (SPEC's tolerance, 1e-5), which is itself checked
by hand-worked cases and against the image pCF of single planes.

"""

import dataclasses
import math
import warnings

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import engines
from ipcf._rows import NegativeIntensityWarning, RowReader
from ipcf.engines import _volume, cpu, gpu, reference
from ipcf.pcf import DuplicatePointsWarning, pcf_image
from ipcf.plan import (
    GOLDEN_ANGLE,
    Plan,
    logbins,
    smooth,
    sphere,
    sphere_depth,
)

ATOL = 1e-5
"""SPEC's tolerance of a fast engine against the reference."""

ENGINES = ['cpu', 'gpu-numpy', 'gpu']


def series(shape, mean=50.0, dtype=numpy.uint16, seed=0, offset=0.0):
    """Return Poisson counts around mean (plus a constant offset)."""
    rng = numpy.random.default_rng(seed)
    return (rng.poisson(mean, shape) + offset).astype(dtype)


def volume_plan(radius, npoints, nframes, nbins, **options):
    """Return a sphere plan with Plan's fields (and z_ratio) as options."""
    z_ratio = options.pop('z_ratio', 1.0)
    plan = Plan.volume(
        radius=radius,
        npoints=npoints,
        nframes=nframes,
        nbins=nbins,
        z_ratio=z_ratio,
    )
    return dataclasses.replace(plan, **options)


def run(name, plan, channels, *, mask=None, **options):
    """Return out[direction, z, y, x, point, bin] of an engine.

    ``'planes'`` and ``'stacked'`` are the two routes of
    :mod:`ipcf.engines._volume` with the reference image engine; a
    ``'-planes'`` suffix makes cpu or gpu-numpy go by pairs of planes.

    """
    shape = plan.out_shape(channels[0].shape[1:])
    out = numpy.full(shape, numpy.nan, numpy.float32)
    reader = RowReader(channels, plan.nframes)
    with pytest.MonkeyPatch.context() as patch:
        if name.endswith('-planes'):
            name = name.removesuffix('-planes')
            patch.setattr(cpu, '_stacked_chunk', lambda *args: 0)
            patch.setattr(gpu, '_stack_planes', lambda *args, **kw: False)
        if name == 'gpu-numpy':
            options = {'tile_pixels': 7, 'chunk_pixels': 5, **options}
            gpu._compute(numpy, plan, reader, out, mask=mask, **options)
        elif name == 'planes':
            _volume.compute_planes(
                reference.compute, plan, reader, out, mask=mask, **options
            )
        elif name == 'stacked':
            _volume.compute_stacked(
                reference.compute, plan, reader, out, mask=mask, **options
            )
        else:
            module = {'reference': reference, 'cpu': cpu, 'gpu': gpu}[name]
            module.compute(plan, reader, out, mask=mask, **options)
    if mask is not None:
        out[:, ~mask] = numpy.nan
    return out


def check(engine, plan, channels, *, mask=None, **options):
    """Assert an engine equals the direct reference; return its result."""
    copies = [c.copy() for c in channels]
    result = run(engine, plan, channels, mask=mask, **options)
    expected = run('reference', plan, channels, mask=mask)
    assert result.dtype == numpy.float32
    assert result.shape == expected.shape
    assert_array_equal(numpy.isnan(result), numpy.isnan(expected))
    assert_allclose(result, expected, rtol=0, atol=ATOL, equal_nan=True)
    for channel, copy in zip(channels, copies, strict=True):
        assert_array_equal(channel, copy)
    return result


@pytest.fixture(
    scope='module',
    params=['planes', 'stacked', 'cpu-planes', 'gpu-numpy-planes', *ENGINES],
)
def engine(request):
    """Name of an engine under test; skip where it cannot run."""
    name = request.param
    if name.startswith('cpu') and not cpu.available():
        pytest.skip('the cpu engine needs numba, scipy and threadpoolctl')
    if name == 'gpu':
        pytest.importorskip('cupy')
        if 'gpu' not in engines.available():
            pytest.skip('CuPy imports but finds no usable GPU')
    return name


# the sphere


@pytest.mark.parametrize('npoints', [1, 2, 7, 8, 32, 33, 100])
@pytest.mark.parametrize('radius', [1, 2, 5])
def test_sphere_points(radius, npoints):
    points = sphere(radius, npoints)
    assert points.shape == (npoints, 3)
    assert points.dtype == numpy.intp
    # on the sphere within rounding (half a pixel along each axis)
    distance = numpy.linalg.norm(points, axis=1)
    assert (numpy.abs(distance - radius) <= math.sqrt(3) / 2).all()
    assert points.any(axis=1).all()  # never the centre
    if npoints % 2 == 0:
        half = npoints // 2
        assert_array_equal(points[half:], -points[:half])


def test_sphere_formula():
    """The golden-spiral lattice of the docstring, point by point."""
    n, radius = 20, 7
    points = sphere(radius, n)
    for i in range(n // 2):
        c = 1 - (2 * i + 1) / n
        s = math.sqrt(1 - c * c)
        phi = i * GOLDEN_ANGLE
        unit = numpy.array([s * math.cos(phi), s * math.sin(phi), c])
        assert_array_equal(points[i], numpy.round(radius * unit))
    # the first point: azimuth 0, next to the pole
    c0 = 1 - 1 / n
    assert points[0].tolist() == [
        round(radius * math.sqrt(1 - c0 * c0)),
        0,
        round(radius * c0),
    ]
    # an odd count continues the spiral instead of mirroring it
    odd = sphere(radius, 21)
    c = 1 - (2 * 15 + 1) / 21
    s = math.sqrt(1 - c * c)
    unit = [s * math.cos(15 * GOLDEN_ANGLE), s * math.sin(15 * GOLDEN_ANGLE)]
    assert_array_equal(odd[15], numpy.round(radius * numpy.array([*unit, c])))


@pytest.mark.parametrize('npoints', [64, 65, 400])
def test_sphere_is_even(npoints):
    """Unit vectors average to ~0 and fill every octant alike."""
    points = sphere(1000, npoints).astype(float)  # rounding negligible
    unit = points / numpy.linalg.norm(points, axis=1)[:, None]
    assert numpy.abs(unit.mean(axis=0)).max() < 3 / npoints
    octant = (unit > 0) @ [1, 2, 4]
    counts = numpy.bincount(octant, minlength=8)
    assert counts.max() - counts.min() <= max(3, npoints // 25)
    # the closest pair is not much closer than the lattice spacing
    gaps = numpy.linalg.norm(unit[:, None] - unit, axis=-1)
    gaps[numpy.diag_indices(npoints)] = 2
    spacing = math.sqrt(4 * math.pi / npoints)
    assert gaps.min(axis=1).min() > 0.5 * spacing
    assert gaps.min(axis=1).max() < 1.5 * spacing


@pytest.mark.parametrize('z_ratio', [0.5, 1.5, 3.0])
def test_sphere_z_ratio(z_ratio):
    """Axial components are divided by z_ratio; lateral ones are not."""
    radius, n = 6, 40
    plain = sphere(1000 * radius, n) / 1000.0  # unrounded, nearly
    points = sphere(radius, n, z_ratio=z_ratio)
    assert_array_equal(points[:, :2], sphere(radius, n)[:, :2])
    assert numpy.abs(points[:, 2] - plain[:, 2] / z_ratio).max() <= 0.5 + 1e-2
    assert numpy.abs(points[:, 2]).max() <= sphere_depth(radius, z_ratio)
    assert sphere_depth(radius, z_ratio) == round(radius / z_ratio)
    # round in physical units
    physical = points * [1, 1, z_ratio]
    distance = numpy.linalg.norm(physical, axis=1)
    assert numpy.abs(distance - radius).max() <= 0.5 * math.sqrt(
        2 + z_ratio**2
    )


@pytest.mark.parametrize('z_ratio', [0.5, 1.0, 2.0, 3.0])
@pytest.mark.parametrize('radius', [1, 2, 3, 6])
def test_sphere_default_count(radius, z_ratio):
    points = sphere(radius, None, z_ratio=z_ratio)
    depth = max(1, min(radius, sphere_depth(radius, z_ratio)))
    assert len(points) % 2 == 0
    assert len(points) <= 4 * radius * depth
    assert len(numpy.unique(points, axis=0)) == len(points)
    if z_ratio == 1.0:
        assert len(points) == 4 * radius * radius  # no repeats up to r = 18


def test_sphere_duplicates_and_centre():
    points = sphere(1, 64)
    assert len(numpy.unique(points, axis=0)) < 64  # kept, not dropped
    with pytest.raises(ValueError, match=r'to the centre \(0, 0, 0\)'):
        sphere(1, 8, z_ratio=3.0)
    with pytest.raises(ValueError, match='radius=0'):
        sphere(0, 8)
    with pytest.raises(ValueError, match='npoints=0'):
        sphere(2, 0)
    with pytest.raises(ValueError, match='z_ratio=0.0'):
        sphere(2, 8, z_ratio=0.0)
    with pytest.raises(TypeError, match='z_ratio'):
        sphere(2, 8, z_ratio='1')


def test_plan_volume():
    plan = Plan.volume(radius=3, npoints=16, nframes=128, nbins=8, z_ratio=2.0)
    assert plan.ndim == 3
    assert plan.halo == (2, 3, 3)
    assert_array_equal(plan.offsets, sphere(3, 16, z_ratio=2.0))
    assert plan.out_shape((7, 10, 11)) == (1, 3, 4, 5, 16, plan.nbins)
    assert plan.edges == tuple(logbins(64, 8).tolist())


def test_plane_jobs_cover_each_curve_once():
    """Every curve of a volume plan comes from exactly one image plan."""
    for cross, reverse in [(False, False), (True, False), (True, True)]:
        plan = volume_plan(2, 14, 64, 6, cross=cross, reverse=reverse)
        seen = numpy.zeros((plan.ndirections, plan.npoints), int)
        for job in _volume.plane_jobs(plan):
            for part in job.parts:
                seen[part.target, part.targets] += 1
                lateral = job.plan.offsets[part.points]
                assert_array_equal(lateral, plan.offsets[part.targets, :2])
                w = plan.offsets[part.targets, 2]
                sign = 1 if part.shift == 0 else -1
                assert (w == sign * job.d).all()
        assert (seen == 1).all()


# the engines against the direct reference


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_equals_reference(engine, mode):
    data = series((64, 6, 7, 8), seed=1)
    check(engine, volume_plan(1, 10, 64, 6, mode=mode), [data])


@pytest.mark.parametrize(
    ('shape', 'radius', 'npoints', 'z_ratio', 'dtype', 'seed'),
    [
        ((64, 5, 9, 7), 2, 12, 1.0, 'uint8', 2),
        ((32, 3, 5, 6), 1, 7, 1.0, '>u2', 3),  # odd count, big-endian
        ((64, 4, 6, 9), 2, 9, 2.0, 'float32', 4),
        ((48, 7, 5, 5), 2, 16, 0.7, 'float64', 5),  # N not a power of 2
        ((32, 3, 7, 7), 3, 6, 3.0, 'int32', 6),  # hz = 1
        ((32, 1, 6, 7), 2, 8, 5.0, 'uint16', 7),  # hz = 0, w all 0
        ((32, 3, 4, 4), 1, 64, 1.0, 'uint16', 8),  # repeated points
    ],
)
def test_shapes_and_dtypes(
    engine, shape, radius, npoints, z_ratio, dtype, seed
):
    data = series(shape, 20.0, seed=seed).astype(dtype)
    plan = volume_plan(radius, npoints, shape[0], 6, z_ratio=z_ratio)
    result = check(engine, plan, [data])
    points = plan.offsets
    same = (points[:, None] == points).all(axis=-1)
    for i, j in zip(*numpy.nonzero(same), strict=True):
        assert_array_equal(result[..., i, :], result[..., j, :])


@pytest.mark.parametrize('kind', ['random', 'one', 'plane'])
def test_masks(engine, kind):
    data = series((64, 6, 8, 7), 10.0, seed=9)
    rng = numpy.random.default_rng(9)
    mask = {
        'random': rng.random((4, 6, 5)) < 0.3,
        'one': numpy.zeros((4, 6, 5), bool),
        'plane': numpy.ones((4, 6, 5), bool),
    }[kind]
    if kind == 'one':
        mask[2, 3, 1] = True
    if kind == 'plane':
        mask[1] = False
    result = check(engine, volume_plan(1, 8, 64, 6), [data], mask=mask)
    assert numpy.isnan(result[:, ~mask]).all()
    assert not numpy.isnan(result[:, mask]).any()


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize('reverse', [False, True])
def test_cross_channel(engine, mode, reverse):
    data = series((64, 5, 7, 6), 40.0, seed=10)
    rng = numpy.random.default_rng(10)
    second = (data // 2 + rng.poisson(20, data.shape)).astype(data.dtype)
    second[:, 2, 3, 2] = 0  # NaN curves one way round only
    mask = numpy.ones((3, 5, 4), bool)
    mask[0, 0, :2] = False
    plan = volume_plan(
        1, 9, 64, 6, mode=mode, cross=True, reverse=reverse, z_ratio=0.9
    )
    result = check(engine, plan, [data, second], mask=mask)
    assert result.shape[0] == 1 + reverse
    if reverse:
        swapped = run(
            'reference',
            dataclasses.replace(plan, reverse=False),
            [second, data],
            mask=mask,
        )
        assert_allclose(result[1:], swapped, atol=ATOL, equal_nan=True)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_camera_offset(engine, mode):
    data = series((64, 5, 6, 6), 10.0, seed=11, offset=100)
    data[:, 2, 3, 3] = 95  # below the offset: NaN, never inf
    plan = volume_plan(1, 8, 64, 6, mode=mode, offset=100.0)
    result = check(engine, plan, [data])
    assert numpy.isnan(result[0, 1, 2, 2]).all()
    assert not numpy.isinf(result).any()


def test_small_buffers(monkeypatch):
    """Several windows, tiles and strips per plane give the same curves."""
    data = series((64, 5, 9, 11), 30.0, seed=12)
    plan = volume_plan(2, 12, 64, 6)
    expected = run('reference', plan, [data])
    result = run(
        'gpu-numpy', plan, [data], tile_pixels=3, chunk_pixels=2, budget=1
    )
    assert_allclose(result, expected, rtol=0, atol=ATOL)
    if cpu.available():
        monkeypatch.setattr(cpu, '_WINDOW_BYTES', 16 * 2**10)
        monkeypatch.setattr(cpu, '_BAND_ROWS', 1)
        monkeypatch.setattr(cpu, '_CWIDTH', 3)
        result = run('cpu', plan, [data], num_threads=2)
        assert_allclose(result, expected, rtol=0, atol=ATOL)


def test_progress(engine):
    data = series((32, 5, 6, 6), seed=13)
    plan = volume_plan(1, 8, 32, 4, cross=True, reverse=True)
    done = []
    run(engine, plan, [data, data], progress=done.append)
    assert sum(done) == 2 * 3 * 4 * 4


# hand-worked cases of the reference


def test_delayed_plane_peaks_at_delay():
    """Plane z + 1 is plane z delayed by k frames: the curve toward the
    point straight above peaks at delay k; straight below, no peak."""
    k, nframes = 3, 256
    rng = numpy.random.default_rng(14)
    base = rng.poisson(100, (nframes, 6, 6)).astype(numpy.float64)
    data = numpy.stack(
        [numpy.roll(base, k * z, axis=0) for z in range(4)], axis=1
    )
    points = sphere(1, 8)
    up = int(numpy.flatnonzero((points == [0, 0, 1]).all(axis=1))[0])
    down = int(numpy.flatnonzero((points == [0, 0, -1]).all(axis=1))[0])
    for engine in ['reference', 'cpu']:
        result = pcf_image(data, radius=1, npoints=8, nbins=64, engine=engine)
        edges = result['bin_edge'].values
        peak = int(numpy.searchsorted(edges, k, side='right'))
        curves = result.isel(point=up).values
        assert (curves.argmax(axis=-1) == peak).all()
        # white noise: the delayed copy correlates like the variance
        # (1 / mean) at delay k alone, then the peak is smoothed
        spread = smooth(numpy.eye(len(edges))[peak])[peak]
        height = 0.01 * spread
        assert_allclose(curves[..., peak].mean(), height, rtol=0.2)
        assert numpy.abs(result.isel(point=down).values).max() < 0.5 * height


def test_plane_points_are_the_image_pcf():
    """Points with w = 0 of a volume are the image pCF of each plane."""
    data = series((64, 5, 8, 9), 30.0, seed=15)
    plan = volume_plan(2, 16, 64, 6)
    volume = run('reference', plan, [data])
    flat = numpy.flatnonzero(plan.offsets[:, 2] == 0)
    assert flat.size >= 2
    image = Plan(
        offsets=plan.offsets[flat, :2],
        halo=plan.halo[1:],
        nframes=64,
        edges=plan.edges,
    )
    hz = plan.halo[0]
    for z in range(volume.shape[1]):
        expected = numpy.full(image.out_shape((8, 9)), numpy.nan, 'float32')
        reference.compute(image, RowReader([data[:, z + hz]], 64), expected)
        assert_allclose(volume[:, z][..., flat, :], expected, atol=1e-7)


def test_reference_direct_pair():
    """One voxel pair of the reference is SPEC's formula written out."""
    data = series((32, 3, 4, 5), 20.0, seed=16).astype(numpy.float64)
    plan = dataclasses.replace(
        volume_plan(1, 8, 32, 4), smoothing=False, edges=(1, 2, 16)
    )
    result = run('reference', plan, [data])
    u, v, w = plan.offsets[1]
    a = data[:, 1, 1, 1]
    b = data[:, 1 + w, 1 + v, 1 + u]
    g = [
        numpy.mean(a * numpy.roll(b, -tau)) / (a.mean() * b.mean()) - 1
        for tau in range(16)
    ]
    expected = [g[0], g[1], numpy.mean(g[2:16])]
    assert_allclose(result[0, 0, 0, 0, 1], expected, atol=1e-6)


# pcf_image with volumes


def test_pcf_image_volume_labels():
    data = series((64, 6, 8, 9), seed=17)
    result = pcf_image(data, radius=2, npoints=12, nbins=8, z_ratio=1.5)
    assert result.name == 'pcf'
    assert result.dims == ('z', 'y', 'x', 'point', 'delay')
    assert result.shape[:3] == (4, 4, 5)  # hz = round(2 / 1.5) = 1
    assert result['z'].values.tolist() == [1, 2, 3, 4]
    assert result['y'].values[0] == 2
    points = sphere(2, 12, z_ratio=1.5)
    u, v, w = points.T
    assert result['u'].values.tolist() == u.tolist()
    assert result['v'].values.tolist() == v.tolist()
    assert result['w'].values.tolist() == w.tolist()
    distance = numpy.sqrt(u**2 + v**2 + (1.5 * w) ** 2)
    assert_allclose(result['distance'], distance)
    assert_allclose(result['angle'], numpy.arctan2(v, u))
    assert_allclose(numpy.cos(result['polar']), 1.5 * w / distance, atol=1e-12)
    assert result.attrs['z_ratio'] == 1.5
    assert result.attrs['radius'] == 2
    assert result.attrs['npoints'] == 12
    assert result.dtype == numpy.float32
    # the engines agree through the front door too
    expected = pcf_image(
        data, radius=2, npoints=12, nbins=8, z_ratio=1.5, engine='reference'
    )
    assert_allclose(result, expected, rtol=0, atol=ATOL)


def test_pcf_image_volume_mask_and_both():
    data = series((64, 5, 7, 7), seed=18)
    second = series((64, 5, 7, 7), 30.0, seed=19)
    mask = numpy.zeros((5, 7, 7), bool)
    mask[2, 2:5, 3] = True
    mask[0, 3, 3] = True  # outside the result grid
    options = {'radius': 1, 'npoints': 8, 'nbins': 6, 'mask': mask}
    result = pcf_image(data, neighbour=second, directions='both', **options)
    assert result.dims == ('z', 'y', 'x', 'direction', 'point', 'delay')
    values = result.values
    inside = mask[1:-1, 1:-1, 1:-1]
    assert not numpy.isnan(values[inside]).any()
    assert numpy.isnan(values[~inside]).all()
    expected = pcf_image(
        data, neighbour=second, directions='both', engine='reference',
        **options,
    )  # fmt: skip
    assert_allclose(values, expected, rtol=0, atol=ATOL, equal_nan=True)


def test_pcf_image_volume_lazy_inputs():
    data = series((32, 4, 6, 5), seed=20)
    expected = pcf_image(data, radius=1, npoints=6, nbins=5)
    da = pytest.importorskip('dask.array')
    lazy = da.from_array(data, chunks=(16, 2, 3, 3))
    result = pcf_image(lazy, radius=1, npoints=6, nbins=5)
    assert_allclose(result, expected, rtol=0, atol=1e-7)


def test_planes_are_views():
    data = series((16, 3, 4, 5), seed=21)
    reader = RowReader([data], 16)
    plane = reader.planes([(0, 1)])
    assert plane.shape == (16, 4, 5)
    block = plane.read(0, 1, 3, 0, 5)
    assert numpy.shares_memory(block, data)
    assert_array_equal(block, data[:, 1, 1:3])


@pytest.mark.parametrize(
    ('shape', 'options', 'error', 'match'),
    [
        ((15, 4, 8, 8), {}, ValueError, '15 frames'),
        ((32, 4, 8, 8), {'radius': 4}, ValueError, 'radius=4'),
        ((32, 4, 8, 8), {'radius': 2}, ValueError, '4 planes are too few'),
        ((32, 2, 8, 8), {'radius': 1}, ValueError, 'more than 2 planes'),
        ((32, 3, 8, 8), {'z_ratio': 0}, ValueError, 'z_ratio=0'),
        ((32, 3, 8, 8), {'z_ratio': '2'}, TypeError, 'z_ratio'),
        ((32, 3, 8, 8), {'z_ratio': 4.0, 'npoints': 16}, ValueError,
         'to the centre'),
        ((32, 8, 8), {'z_ratio': 2.0}, ValueError, '4-D volume'),
        ((32, 2, 3, 8, 8), {}, ValueError, 'not 3-D .* or 4-D'),
        (
            (32, 3, 8, 8), {'mask': numpy.ones((8, 8), bool)},
            ValueError, 'mask.shape',
        ),
        (
            (32, 3, 8, 8), {'neighbour': numpy.ones((32, 8, 8))},
            ValueError, 'neighbour.shape',
        ),
    ],
)  # fmt: skip
def test_pcf_image_volume_bad_input(shape, options, error, match):
    options = {'radius': 1, 'npoints': 6, **options}
    with pytest.raises(error, match=match):
        pcf_image(numpy.ones(shape), **options)


@pytest.mark.parametrize('bad', [numpy.nan, numpy.inf])
def test_pcf_image_volume_rejects_nan(bad):
    data = numpy.ones((32, 4, 6, 6))
    data[3, 2, 4, 4] = bad
    with pytest.raises(ValueError, match='NaN or infinite .* plane 2, row 4'):
        pcf_image(data, radius=1, npoints=6)
    with pytest.raises(ValueError, match=r'data \(plane 2\) contains NaN'):
        run('cpu-planes', volume_plan(1, 6, 32, 4), [data])


def test_pcf_image_volume_warnings():
    data = series((32, 3, 5, 5), seed=22)
    with pytest.warns(DuplicatePointsWarning, match='on a sphere of radius'):
        pcf_image(data, radius=1, npoints=64, nbins=4)
    negative = data.astype(numpy.float32) - 60
    with pytest.warns(NegativeIntensityWarning) as record:
        pcf_image(negative, radius=1, npoints=6, nbins=4)
    assert len(record) == 1  # once per volume, not per plane
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        pcf_image(data, radius=1, npoints=None, nbins=4)


def test_pair_tasks_drop_unwanted_curves():
    from ipcf.engines._spectral import pair_tasks

    offsets = [[1, 0], [-1, 0], [0, 1]]
    curves = numpy.array([[True, False, True], [False, True, False]])
    tasks = pair_tasks(offsets, cross=True, reverse=True, curves=curves)
    # forward of point 0 and reverse of point 1 share the pair (p, p + 1)
    assert tasks == [((1, 0), (0,), (1,)), ((0, 1), (2,), ())]
    alone = pair_tasks(offsets, cross=False, curves=curves[:1])
    assert alone == [((1, 0), (0,), ()), ((0, 1), (2,), ())]


def test_stacked_planes_are_views():
    data = series((16, 4, 3, 5), seed=23)
    block = RowReader([data], 16).stacked(1, 3).read(0, 2, 5, 0, 5)
    assert numpy.shares_memory(block, data)
    assert_array_equal(block[:, 0], data[:, 1, 2])
    assert_array_equal(block[:, 1:], data[:, 2, :2])
    # planes that do not follow each other in memory are read as slabs
    strided = numpy.swapaxes(series((16, 3, 4, 5), seed=23), 1, 2)
    block = RowReader([strided], 16).stacked(1, 3).read(0, 2, 5, 0, 5)
    assert_array_equal(block[:, 0], strided[:, 1, 2])
    assert_array_equal(block[:, 1:], strided[:, 2, :2])
