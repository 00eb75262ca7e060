"""iMSD and STICS against simulations with known truth.

Simulations of :mod:`ipcf.simulate` (pixel 0.1 µm, PSF 1/e² radius
0.25 µm, 5 particles/µm², 50 photons per particle and frame, background
2, camera offset 100) analysed by :func:`ipcf.imsd`:

- free diffusion, D = 1 and 4 µm²/s: D within 10 %, alpha of the
  anomalous model within 1 ± 0.1;
- confinement in squares of side L = 0.3 and 0.6 µm: L within 15 %;
- flow of 100 µm/s at 30° plus diffusion: speed within 10 %, direction
  within 10°;
- 30 % immobile particles: D within 10 % with ``subtract_immobile``,
  and far too low without;
- local maps of a field whose two halves have D = 0.5 and 4: the median
  of each half within 15 %;
- hop diffusion through a meshwork of 0.3 µm squares (hop 0.02): the
  anomalous model's alpha well below 1;
- fractional Brownian motion with alpha = 0.5 and 1.3: alpha within 0.1.

D = 1 is simulated with 2 ms frames and fitted up to 32 frames, so that
the delays fitted cover the same range of ``4 D tau`` relative to the
PSF as D = 4 with 1 ms frames up to 16.

"""

import math

import numpy
import pytest

from ipcf import simulate
from ipcf.imsd import imsd
from ipcf.stics import stics

pytestmark = pytest.mark.slow

PIXEL = 0.1
OFFSET = 100.0


def _imsd(sim, **kwargs):
    return imsd(
        sim.data,
        pixel_size=PIXEL,
        dt=sim.truth['frame_time'],
        offset=OFFSET,
        **kwargs,
    )


@pytest.mark.parametrize(
    ('diffusion', 'frame_time', 'max_delay', 'seed'),
    [(1.0, 2e-3, 32, 31), (4.0, 1e-3, 16, 21)],
    ids=['D1', 'D4'],
)
def test_free_diffusion_and_alpha(diffusion, frame_time, max_delay, seed):
    sim = simulate.free(
        shape=(4096, 48, 48),
        diffusion=diffusion,
        frame_time=frame_time,
        seed=seed,
    )
    correlation = stics(
        sim.data,
        max_delay=max_delay,
        offset=OFFSET,
        dt=frame_time,
        pixel_size=PIXEL,
    )
    free = imsd(correlation)
    assert float(free['D']) == pytest.approx(diffusion, rel=0.10)
    # sigma0² = w² + a²/3 for a Gaussian PSF integrated over square pixels
    assert float(free['sigma0']) == pytest.approx(
        math.sqrt(0.25**2 + PIXEL**2 / 3), rel=0.05
    )
    anomalous = imsd(correlation, model='anomalous')
    assert float(anomalous['alpha']) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    ('side', 'diffusion'), [(0.3, 1.0), (0.6, 4.0)], ids=['L0.3', 'L0.6']
)
def test_confinement_size(side, diffusion):
    """Compartments: confined for good (hop 0), L from the plateau."""
    sim = simulate.confined(
        shape=(1024, 96, 96),
        compartment=side,
        diffusion=diffusion,
        seed=22,
    )
    result = _imsd(sim, max_delay=48, nbins=20, model='confined')
    assert float(result['L']) == pytest.approx(side, rel=0.15)


def test_flow_speed_and_direction():
    angle = 30.0
    speed = 100.0
    velocity = (
        speed * math.cos(math.radians(angle)),
        speed * math.sin(math.radians(angle)),
    )
    sim = simulate.flow(
        shape=(2048, 48, 48), velocity=velocity, diffusion=1.0, seed=23
    )
    result = _imsd(sim, max_delay=12, model='flow')
    assert float(result['speed']) == pytest.approx(speed, rel=0.10)
    assert float(result['direction']) == pytest.approx(angle, abs=10.0)
    assert float(result['D']) == pytest.approx(1.0, rel=0.2)


def test_immobile_fraction_subtracted():
    sim = simulate.immobile(
        shape=(2048, 48, 48), fraction=0.3, diffusion=4.0, seed=24
    )
    biased = _imsd(sim, max_delay=16)
    cleaned = _imsd(sim, max_delay=16, subtract_immobile=128)
    assert float(cleaned['D']) == pytest.approx(4.0, rel=0.10)
    assert float(biased['D']) < 0.5 * 4.0


def test_local_maps_separate_two_halves():
    """Blocks of 24 pixels, 12 apart, over halves of D = 0.5 and 4."""
    halves = [
        simulate.free(shape=(2048, 48, 48), diffusion=d, seed=25 + k).data
        for k, d in enumerate((0.5, 4.0))
    ]
    data = numpy.concatenate(halves, axis=2)
    maps = imsd(
        data,
        pixel_size=PIXEL,
        dt=1e-3,
        offset=OFFSET,
        max_delay=12,
        block=24,
        step=12,
    )
    origin = maps['x'].values - 11.5  # first column of each block
    left = maps['D'].sel(x=maps['x'].values[origin + 24 <= 48]).values
    right = maps['D'].sel(x=maps['x'].values[origin >= 48]).values
    assert left.size == right.size == 9
    assert numpy.median(left) == pytest.approx(0.5, rel=0.15)
    assert numpy.median(right) == pytest.approx(4.0, rel=0.15)


def test_meshwork_is_anomalous():
    """Hop diffusion through squares of 0.3 µm: alpha well below 1."""
    sim = simulate.confined(
        shape=(1024, 48, 48),
        compartment=0.3,
        hop=0.02,
        diffusion=4.0,
        seed=26,
    )
    result = _imsd(sim, max_delay=64, nbins=16, model='anomalous')
    assert float(result['alpha']) < 0.6


@pytest.mark.parametrize('alpha', [0.5, 1.3])
def test_fractional_brownian_motion_alpha(alpha):
    """fBm has the anomalous model exactly: alpha within 0.1."""
    sim = simulate.anomalous(
        shape=(2048, 48, 48), alpha=alpha, diffusion=1.0, seed=27
    )
    result = _imsd(sim, max_delay=32, nbins=16, model='anomalous')
    assert float(result['alpha']) == pytest.approx(alpha, abs=0.1)
