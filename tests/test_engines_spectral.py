"""Tests of ipcf.engines._spectral, the route the cpu and gpu engines share."""

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.engines._spectral import (
    binning_matrix,
    fast_length,
    is_forward,
    pair_tasks,
    transform_length,
)
from ipcf.plan import average_bins, circle, logbins, smooth, smoothing_matrix


def defined_matrix(nframes, length, edges, freq=None):
    """M[f - 1, k] as defined: w_f / (L N) times a mean of exponentials."""
    if freq is None:
        freq = numpy.arange(1, length // 2 + 1)
    freq = numpy.asarray(freq, numpy.int64)
    lower = (0, *edges[:-1])
    matrix = numpy.empty((freq.size, len(edges)), complex)
    for k, (lo, hi) in enumerate(zip(lower, edges, strict=True)):
        tau = numpy.arange(lo, hi, dtype=numpy.int64)
        phase = (freq[:, None] * tau) % length  # exact in integers
        value = numpy.exp(2j * numpy.pi * phase / length)
        matrix[:, k] = value.mean(axis=1)
    weight = numpy.where(2 * freq == length, 1.0, 2.0) / (length * nframes)
    return weight[:, None] * matrix


@pytest.mark.parametrize('smoothing', [False, True])
@pytest.mark.parametrize(
    ('nframes', 'mode'),
    [(40, 'circular'), (40, 'linear'), (63, 'circular'), (63, 'linear')],
)
def test_binning_matrix_definition(nframes, mode, smoothing):
    """M is a mean of complex exponentials (times the smoothing)."""
    length = transform_length(nframes, mode)
    edges = tuple(int(e) for e in logbins(nframes // 2, 8))
    matrix = binning_matrix(nframes, length, edges, smoothing)
    expected = defined_matrix(nframes, length, edges)
    if smoothing:
        expected = expected @ smoothing_matrix(len(edges))
    assert matrix.dtype == numpy.complex128
    assert matrix.shape == (length // 2, len(edges))
    assert_allclose(matrix, expected, rtol=0, atol=1e-12 / length)
    assert not matrix.flags.writeable


@pytest.mark.parametrize('length', [61, 64, 24576, 100_003])
def test_binning_matrix_long(length):
    """Phases stay exact for long transforms (reduced in integers)."""
    nframes = 2 * length // 3
    edges = tuple(int(e) for e in logbins(nframes // 2, 12))
    matrix = binning_matrix(nframes, length, edges, False)
    freq = numpy.array([1, 2, length // 3, length // 2 - 1, length // 2])
    expected = defined_matrix(nframes, length, edges, freq)
    atol = 1e-9 * numpy.abs(expected).max()
    assert_allclose(matrix[freq - 1], expected, rtol=0, atol=atol)


@pytest.mark.parametrize('smoothing', [False, True])
@pytest.mark.parametrize('nframes', [64, 63, 96, 17])
@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_binning_matrix_bins_the_inverse_transform(nframes, mode, smoothing):
    """Re(X) @ Re(M) - Im(X) @ Im(M) is the binned curve of spectrum X."""
    length = transform_length(nframes, mode)
    edges = tuple(int(e) for e in logbins(nframes // 2, 8))
    matrix = binning_matrix(nframes, length, edges, smoothing)
    rng = numpy.random.default_rng(nframes)
    spectrum = rng.normal(size=length // 2 + 1) + 1j * rng.normal(
        size=length // 2 + 1
    )
    spectrum[0] = 0
    if length % 2 == 0:
        spectrum[-1] = spectrum[-1].real
    # the curve for delays 0 .. N/2 - 1, normalized by N
    curve = numpy.fft.irfft(spectrum, length)[: nframes // 2] / nframes
    expected = average_bins(curve, edges)
    if smoothing:
        expected = smooth(expected)
    got = spectrum[1:].real @ matrix.real - spectrum[1:].imag @ matrix.imag
    assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_binning_matrix_cached():
    first = binning_matrix(32, 32, (1, 2, 4, 16), True)
    assert binning_matrix(32, 32, (1, 2, 4, 16), True) is first
    assert binning_matrix(32, 32, (1, 2, 4, 16), False) is not first


def test_fast_length():
    assert fast_length(24575) == 24576
    assert fast_length(1) == 1
    assert fast_length(0) == 1
    assert fast_length(11) == 12
    assert fast_length(7, primes=(2, 3, 5)) == 8
    assert fast_length(7) == 7
    assert fast_length(1000) == 1000
    for primes in ((2, 3, 5, 7), (2, 3, 5), (2,)):
        for size in range(1, 400):
            length = fast_length(size, primes=primes)
            assert length >= size
            rest = length
            for factor in primes:
                while rest % factor == 0:
                    rest //= factor
            assert rest == 1
            # the smallest: no smooth number in [size, length)
            assert fast_length(length, primes=primes) == length
            if length > size:
                assert fast_length(length - 1, primes=primes) == length


@pytest.mark.parametrize('nframes', [16, 17, 64, 255])
def test_transform_length(nframes):
    """Linear mode pads to >= N + N // 2 - 1: no delay below N/2 wraps."""
    assert transform_length(nframes, 'circular') == nframes
    rng = numpy.random.default_rng(nframes)
    a = rng.normal(size=nframes)
    b = rng.normal(size=nframes)
    delays = numpy.arange(-(nframes // 2) + 1, nframes // 2)
    direct = numpy.array(
        [
            sum(
                a[t] * b[t + d] for t in range(nframes) if 0 <= t + d < nframes
            )
            for d in delays
        ]
    )

    def via_fft(length):
        spectrum = numpy.conj(numpy.fft.rfft(a, length))
        curve = numpy.fft.irfft(spectrum * numpy.fft.rfft(b, length), length)
        return curve[delays % length]

    minimum = nframes + nframes // 2 - 1
    assert_allclose(via_fft(minimum), direct, atol=1e-9)
    assert not numpy.allclose(via_fft(minimum - 1), direct, atol=1e-9)
    for primes in ((2, 3, 5, 7), (2, 3, 5)):
        length = transform_length(nframes, 'linear', primes=primes)
        assert length == fast_length(minimum, primes=primes)
        assert_allclose(via_fft(length), direct, atol=1e-9)


def test_is_forward():
    assert is_forward((1, 0))
    assert is_forward((-1, 1))
    assert not is_forward((1, -1))
    assert not is_forward((-1, 0))
    assert is_forward((0, 0))
    assert is_forward((0, 0, 0))
    assert is_forward((-5, -5, 1))  # the slowest axis decides
    assert not is_forward((5, 5, -1))
    assert is_forward(numpy.array([0, 2]))
    for offset in [(u, v) for u in range(-3, 4) for v in range(-3, 4)]:
        if offset != (0, 0):
            # exactly one of an offset and its negative points forward
            negated = tuple(-c for c in offset)
            assert is_forward(offset) != is_forward(negated)
            # forward in row-major pixel order: a later pixel
            assert is_forward(offset) == (offset[1] * 100 + offset[0] > 0)


def assert_tasks_cover(points, tasks, *, cross, reverse):
    """Assert each point's curves come from exactly one task."""
    plus = [i for _, p, _ in tasks for i in p]
    minus = [i for _, _, m in tasks for i in m]
    offsets = [o for o, _, _ in tasks]
    assert len(set(offsets)) == len(offsets)
    for offset, p, m in tasks:
        assert all(tuple(points[i]) == offset for i in p)
        assert all(tuple(-points[i]) == offset for i in m)
        assert p or m
    if cross:
        assert sorted(plus) == list(range(len(points)))
        assert sorted(minus) == (list(range(len(points))) if reverse else [])
    else:
        assert sorted(plus + minus) == list(range(len(points)))
        assert all(is_forward(o) for o in offsets)


@pytest.mark.parametrize(
    'points',
    [
        circle(6, 32),
        circle(1, 32),  # duplicates
        circle(3, 5),  # no point has its negative
        circle(2, 1),
        numpy.array([[0, 0], [1, 0], [-1, 0]]),
        numpy.array([[0, 0, 1], [0, 0, -1], [1, 0, 0]]),  # 3-D offsets
    ],
)
@pytest.mark.parametrize(
    ('cross', 'reverse'), [(False, False), (True, False), (True, True)]
)
def test_pair_tasks_cover_every_point(points, cross, reverse):
    tasks = pair_tasks(points, cross=cross, reverse=reverse)
    assert_tasks_cover(points, tasks, cross=cross, reverse=reverse)


def test_pair_tasks_grouping():
    points = circle(6, 32)
    tasks = pair_tasks(points, cross=False)
    assert len(tasks) == 16  # each pair of opposite points once
    assert all(len(p) == len(m) == 1 for _, p, m in tasks)
    assert len(pair_tasks(points, cross=True)) == 32
    assert len(pair_tasks(points, cross=True, reverse=True)) == 32
    # radius 1: 32 points on 8 pixels, 4 pairs of opposite pixels
    tasks = pair_tasks(circle(1, 32), cross=False)
    assert len(tasks) == 4
    assert sum(len(p) + len(m) for _, p, m in tasks) == 32
    # reverse ignored within one channel
    assert pair_tasks(points, cross=False, reverse=True) == pair_tasks(
        points, cross=False
    )


def test_pair_tasks_zero_offset():
    """The zero offset is forward: a task of its own, never a minus."""
    assert pair_tasks([[0, 0], [1, 0]], cross=False) == [
        ((0, 0), (0,), ()),
        ((1, 0), (1,), ()),
    ]
    assert pair_tasks([[0, 0], [1, 0], [-1, 0]], cross=False) == [
        ((0, 0), (0,), ()),
        ((1, 0), (1,), (2,)),
    ]
    assert pair_tasks([[0, 0], [-1, 0]], cross=True, reverse=True) == [
        ((0, 0), (0,), (0,)),
        ((-1, 0), (1,), ()),
        ((1, 0), (), (1,)),
    ]


def test_pair_tasks_examples():
    assert pair_tasks([[1, 0], [0, 1], [-1, 0], [0, -1]], cross=False) == [
        ((1, 0), (0,), (2,)),
        ((0, 1), (1,), (3,)),
    ]
    assert pair_tasks([[1, 0], [-1, 0]], cross=True, reverse=True) == [
        ((1, 0), (0,), (1,)),
        ((-1, 0), (1,), (0,)),
    ]
    assert pair_tasks([[1, -1], [1, -1]], cross=False) == [
        ((-1, 1), (), (0, 1)),
    ]
    assert pair_tasks([[1, -1], [1, -1]], cross=True) == [
        ((1, -1), (0, 1), ()),
    ]
    assert_array_equal(
        [t[0] for t in pair_tasks(numpy.array([[2, 0]]), cross=False)],
        [(2, 0)],
    )
