"""Tests of ipcf.roi: detection, parsing, masks, mean image."""

from __future__ import annotations

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import io
from ipcf.roi import detect, format_roi, load_mask, mean_image, parse_roi


def ellipse_image(shape=(256, 320), centre=(120, 170), axes=(50, 90)):
    """Return a bright ellipse on a dark noisy background, and its mask."""
    rng = numpy.random.default_rng(0)
    y, x = numpy.indices(shape)
    inside = ((y - centre[0]) / axes[0]) ** 2 + (
        (x - centre[1]) / axes[1]
    ) ** 2 < 1
    image = rng.normal(100, 3, shape) + 40 * inside
    return image, inside


@pytest.mark.parametrize('block', [1, 16, 64])
def test_detect_ellipse(block):
    image, inside = ellipse_image()
    y0, y1, x0, x1 = detect(image, block=block)
    rows = numpy.nonzero(inside.any(axis=1))[0]
    cols = numpy.nonzero(inside.any(axis=0))[0]
    # the box holds the ellipse, with at most a pixel of smoothing slack
    assert y0 <= rows[0] + 1 and y1 >= rows[-1]
    assert x0 <= cols[0] + 1 and x1 >= cols[-1]
    assert (y1 - y0) % block == 0 and (x1 - x0) % block == 0
    assert 0 <= y0 < y1 <= 256 and 0 <= x0 < x1 <= 320
    if block == 1:
        assert y1 - y0 <= rows[-1] - rows[0] + 4
    # centred on the ellipse
    assert abs((y0 + y1) / 2 - 120) <= 2 and abs((x0 + x1) / 2 - 170) <= 2


def test_detect_clips_to_image():
    """A box larger than the image is the whole image; near edges it moves."""
    image, _ = ellipse_image(shape=(100, 200), centre=(50, 40), axes=(30, 30))
    y0, y1, x0, x1 = detect(image, block=128)
    assert (y0, y1) == (0, 100)
    assert (x0, x1) == (0, 128)


def test_detect_largest_object_and_border():
    image = numpy.zeros((100, 100))
    image[10:20, 10:20] = 1.0  # small
    image[40:80, 30:70] = 1.0  # largest
    image[:, 82:100] = 1.0  # larger still, but touches the border
    assert detect(image, block=1, sigma=0) == (40, 80, 30, 70)
    box = detect(image, block=1, sigma=0, clear_border=False)
    assert box == (0, 100, 82, 100)


@pytest.mark.parametrize(
    'image', [numpy.zeros((64, 64)), numpy.full((32, 48), 7.0)]
)
def test_detect_flat_image(image):
    with pytest.raises(ValueError, match='flat'):
        detect(image)


def test_detect_errors():
    image = numpy.zeros((32, 32))
    image[:, :16] = 1.0  # touches the border only
    with pytest.raises(ValueError, match='clear_border=False'):
        detect(image)
    with pytest.raises(ValueError, match='2-D'):
        detect(numpy.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match='NaN'):
        detect(numpy.full((8, 8), numpy.nan))
    with pytest.raises(ValueError, match='block=0'):
        detect(image, block=0)
    with pytest.raises(ValueError, match='sigma=-1'):
        detect(image, sigma=-1)
    with pytest.raises(TypeError, match='sigma'):
        detect(image, sigma='2')
    with pytest.raises(TypeError, match='dtype'):
        detect(numpy.zeros((8, 8), complex))


def test_mean_image(tmp_path):
    data = numpy.random.default_rng(1).integers(0, 1000, (20, 6, 7))
    data = data.astype(numpy.uint16)
    files = io.imwrite_series(tmp_path / 'frames', data)
    assert_allclose(mean_image(files, frames=None), data.mean(axis=0))
    assert_allclose(mean_image(files, frames=5), data[:5].mean(axis=0))
    assert_allclose(mean_image(data, frames=100), data.mean(axis=0))
    assert_allclose(
        mean_image(data, frames=slice(3, 15, 4)), data[3:15:4].mean(axis=0)
    )
    assert_allclose(
        mean_image(data, frames=slice(None, None, -3)),
        data[::-3].mean(axis=0),
    )
    with pytest.raises(ValueError, match='selects none'):
        mean_image(data, frames=slice(30, 40))
    with pytest.raises(ValueError, match='frames=0'):
        mean_image(data, frames=0)


def test_mean_image_in_blocks(monkeypatch):
    """Frames are read in blocks of bounded size."""
    import ipcf.roi

    monkeypatch.setattr(ipcf.roi, '_CHUNK_BYTES', 3 * 6 * 7 * 2)
    data = numpy.arange(20 * 6 * 7, dtype=numpy.uint16).reshape(20, 6, 7)
    assert_allclose(mean_image(data, frames=None), data.mean(axis=0))


def test_parse_and_format_roi():
    assert parse_roi('10:20,30:40') == (10, 20, 30, 40)
    assert parse_roi(' 10 : 20 , 30:40 ') == (10, 20, 30, 40)
    assert parse_roi('AUTO') == 'auto'
    assert parse_roi(':,5:', shape=(3, 8, 9)) == (0, 8, 5, 9)
    assert format_roi((10, 20, 30, 40)) == '10:20,30:40'
    assert parse_roi(format_roi((1, 2, 3, 4))) == (1, 2, 3, 4)


@pytest.mark.parametrize(
    'text',
    ['10:20', '10:20,30', '10:5,0:4', 'a:b,c:d', '-1:4,0:4', '1:2:3,0:4', ''],
)
def test_parse_roi_errors(text):
    with pytest.raises(ValueError, match='not "y0:y1,x0:x1"'):
        parse_roi(text)


def test_parse_roi_shape_errors():
    with pytest.raises(ValueError, match='exceeds the 8x9 image'):
        parse_roi('0:9,0:4', shape=(8, 9))
    with pytest.raises(ValueError, match='need the image shape'):
        parse_roi(':,0:4')
    with pytest.raises(TypeError, match='not a string'):
        parse_roi((1, 2, 3, 4))


def test_load_mask(tmp_path):
    import tifffile
    from skimage import io as skio

    mask = numpy.zeros((6, 8), bool)
    mask[2:5, 1:6] = True
    numpy.save(tmp_path / 'mask.npy', mask)
    tifffile.imwrite(tmp_path / 'mask.tif', mask.astype(numpy.uint8) * 255)
    skio.imsave(
        tmp_path / 'mask.png',
        mask.astype(numpy.uint8) * 255,
        check_contrast=False,
    )
    rgb = numpy.zeros((6, 8, 4), numpy.uint8)
    rgb[..., 3] = 255  # opaque everywhere: alpha is not the mask
    rgb[mask, 1] = 200
    skio.imsave(tmp_path / 'rgba.png', rgb, check_contrast=False)
    for name in ('mask.npy', 'mask.tif', 'mask.png', 'rgba.png'):
        result = load_mask(tmp_path / name, (6, 8))
        assert result.dtype == bool
        assert_array_equal(result, mask)
    assert_array_equal(load_mask(mask.astype(int), (6, 8)), mask)


def test_load_mask_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        load_mask(tmp_path / 'missing.npy', (2, 2))
    with pytest.raises(ValueError, match=r'expected \(3, 3\)'):
        load_mask(numpy.ones((2, 2)), (3, 3))
    (tmp_path / 'bad.png').write_bytes(b'not an image')
    with pytest.raises(ValueError, match='cannot read the mask'):
        load_mask(tmp_path / 'bad.png', (2, 2))


def test_cli_roi(tmp_path, capsys):
    from ipcf.cli import main

    image, _ = ellipse_image()
    rng = numpy.random.default_rng(2)
    stack = rng.poisson(image, (6, *image.shape)).astype(numpy.uint16)
    path = io.imwrite(tmp_path / 'cell.tif', stack)
    png = tmp_path / 'roi.png'
    assert main(['roi', str(path), '--block', '32', '-o', str(png)]) == 0
    captured = capsys.readouterr()
    box = parse_roi(captured.out.strip())
    assert box == detect(mean_image(stack), block=32)
    assert png.is_file() and str(png) in captured.err
    flat = io.imwrite(tmp_path / 'flat.tif', numpy.zeros((3, 16, 16), 'u2'))
    assert main(['roi', str(flat), '-o', '']) == 2
    err = capsys.readouterr().err
    assert err.startswith('ipcf: error:') and err.count('\n') == 1
    assert 'flat' in err
