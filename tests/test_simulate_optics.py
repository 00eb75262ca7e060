"""Tests of ipcf.simulate._optics: the PSF rendering and camera counts."""

from __future__ import annotations

import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import erf

from ipcf.simulate._optics import counts, noise_pool, render, render_periodic


def dense_spots(shape, positions, brightness, width):
    """Return spots integrated over every pixel of the field, no window."""
    _, height, size = shape
    scale = math.sqrt(2) / width
    ex = erf((numpy.arange(size + 1) - positions[..., :1]) * scale)
    ey = erf((numpy.arange(height + 1) - positions[..., 1:]) * scale)
    wx = 0.5 * numpy.diff(ex, axis=-1)
    wy = 0.5 * numpy.diff(ey, axis=-1)
    return brightness * numpy.einsum('tpj,tpi->tji', wy, wx)


@pytest.mark.parametrize('width', [2.5, 1.0, 4.0])
def test_render_equals_dense(width):
    """The windowed kernel equals the PSF integrated over every pixel."""
    rng = numpy.random.default_rng(0)
    shape = (3, 24, 20)
    positions = rng.uniform(-8.0, 30.0, (3, 40, 2))
    out = numpy.zeros(shape)
    half = math.ceil(2 * width) + 1
    render(out, positions, brightness=50.0, width=width, half=half)
    expected = dense_spots(shape, positions, 50.0, width)
    assert_allclose(out, expected, rtol=0, atol=1e-4)


def test_render_spot_total():
    """A spot far from the edges holds all its photons."""
    out = numpy.zeros((1, 32, 32))
    render(
        out, numpy.array([[[16.3, 15.8]]]), brightness=50.0, width=2.5, half=6
    )
    assert_allclose(out.sum(), 50.0, rtol=1e-4)
    assert numpy.unravel_index(out.argmax(), out.shape) == (0, 15, 16)


def test_render_periodic_wraps():
    """A periodic tile holds the spots of all nine neighbouring copies."""
    rng = numpy.random.default_rng(1)
    tile, width, half = 16, 2.5, 6
    positions = rng.uniform(0.0, tile, (2, 5, 2))
    field = render_periodic(
        positions, tile=tile, brightness=50.0, width=width, half=half
    )
    expected = sum(
        dense_spots((2, tile, tile), positions + (dx, dy), 50.0, width)
        for dx in (-tile, 0, tile)
        for dy in (-tile, 0, tile)
    )
    assert field.shape == (2, tile, tile)
    assert_allclose(field, expected, rtol=0, atol=1e-4)
    assert_allclose(field.sum(axis=(1, 2)), 5 * 50.0, rtol=1e-4)


def test_counts_round_and_clip():
    photons = numpy.array([0, 3, 200])
    assert_array_equal(
        counts(photons, 100.4, numpy.dtype('uint8')), [100, 103, 255]
    )
    result = counts(photons, 100.4, numpy.dtype('float32'))
    assert result.dtype == numpy.float32
    assert_allclose(result, [100.4, 103.4, 300.4], rtol=1e-6)


def test_noise_pool_moments():
    pool = noise_pool(
        (256, 256),
        background=2.0,
        read_noise=1.5,
        offset=100.0,
        rng=numpy.random.default_rng(0),
    )
    assert pool.dtype == numpy.uint16
    assert_allclose(pool.mean(), 102.0, atol=0.05)
    assert_allclose(pool.var(), 2.0 + 1.5**2 + 1 / 12, rtol=0.05)
