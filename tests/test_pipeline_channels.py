"""Tests of ipcf.analyze and ipcf analyze on files of channels and planes.

A 1024-frame, 2-channel, 3-plane OME-TIFF of particles seen in both channels is
analysed whole and by subsets, through the library and the command
line; every plane, channel and channel pair must equal ipcf.pcf_image of
that plane. Also: resume after a kill across planes, bleach correction
per channel, ROI and mask, a cluster, the units of pcf_image and what
ipcf info says of such files.
"""

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import pipeline
from ipcf.cli import main

# Blocked and whole results are the same float32 sums, but BLAS picks its
# kernels by the size of each product, and kernels round differently:
# they agree within 1e-6 plus a few float32 roundings of G, not to the bit
FLOAT32 = {'rtol': 4e-6, 'atol': 1e-6}

OPTIONS = {'radius': 2, 'npoints': 8, 'nbins': 16}
ARGS = ['--radius', '2', '--points', '8', '--bins', '16', '--quiet']
NAMES = ['GFP', 'mCherry']


@pytest.fixture(scope='module')
def stack(two_channel_spots):
    return two_channel_spots(
        seed=7, frames=1024, planes=3, size=24, count=12, step=0.4
    )


@pytest.fixture(scope='module')
def cell(stack, tmp_path_factory, write_cell):
    """The stack as an OME-TIFF (T, C, Z, Y, X) with units and names."""
    path = tmp_path_factory.mktemp('cell') / 'cell.ome.tif'
    return write_cell(path, stack, NAMES, PhysicalSizeZ=0.5)


def expected(stack, z, channel, neighbour, **options):
    """pcf_image of one plane: a channel's own pCF or a cross pCF."""
    options = {**OPTIONS, **options}
    centres = stack[:, channel, z]
    if channel == neighbour:
        return ipcf.pcf_image(centres, **options)
    return ipcf.pcf_image(centres, neighbour=stack[:, neighbour, z], **options)


@pytest.fixture(scope='module')
def whole(cell, tmp_path_factory):
    """Every plane, channel and pair, as ipcf.analyze stores them."""
    out = tmp_path_factory.mktemp('whole') / 'r.h5'
    ipcf.analyze(cell, out, bleach=None, block=10, **OPTIONS)
    return ipcf.load_result(out)


def test_every_plane_and_pair(stack, whole):
    """Each plane, channel and ordered pair equals pcf_image of it."""
    assert whole.dims == (
        'z', 'y', 'x', 'channel', 'neighbour_channel', 'point', 'delay'
    )  # fmt: skip
    assert whole.shape[:5] == (3, 20, 20, 2, 2)
    assert_array_equal(whole['z'], [0, 1, 2])
    assert_array_equal(whole['channel'], [0, 1])
    assert_array_equal(whole['neighbour_channel'], [0, 1])
    assert whole['channel_name'].values.tolist() == NAMES
    assert whole['y'].values[0] == 2
    assert whole.attrs['channel'] == [0, 1]
    assert whole.attrs['z'] == [0, 1, 2]
    assert whole.attrs['cross'] is True
    assert whole.attrs['dt'] == 0.001  # the OME TimeIncrement
    for z in range(3):
        for c in range(2):
            for n in range(2):
                got = whole.sel(z=z, channel=c, neighbour_channel=n)
                want = expected(stack, z, c, n)
                assert got.dims == want.dims
                assert_allclose(got, want, rtol=0, atol=1e-5)
    assert_allclose(whole['delay'], want['delay'] * 0.001)


def test_cross_equals_reference_and_is_not_trivial(stack, whole):
    """The cross pCF of one plane equals the reference engine's."""
    got = whole.sel(z=1, channel=1, neighbour_channel=0)
    want = expected(stack, 1, 1, 0, engine='reference')
    assert_allclose(got, want, rtol=0, atol=1e-5)
    # shared particles: a cross correlation far above its noise
    early = got.values[..., 1]
    assert early.mean() > 10 * early.std() / numpy.sqrt(early.size)
    assert early.mean() > 0.02


def test_pairs_are_both_directions(stack, whole):
    """(0, 1) and (1, 0) are the two directions of one pair."""
    both = ipcf.pcf_image(
        stack[:, 0, 2], neighbour=stack[:, 1, 2], directions='both',
        **OPTIONS,
    )  # fmt: skip
    plane = whole.sel(z=2)
    forward = plane.sel(channel=0, neighbour_channel=1)
    reverse = plane.sel(channel=1, neighbour_channel=0)
    assert_allclose(forward, both.sel(direction='forward'), atol=1e-5)
    assert_allclose(reverse, both.sel(direction='reverse'), atol=1e-5)


def test_cli_every_plane_and_pair(cell, whole, tmp_path, capsys):
    """ipcf analyze gives what ipcf.analyze gives; --no-cross the autos."""
    out = tmp_path / 'cli.h5'
    args = ['analyze', str(cell), str(out), *ARGS, '--bleach', 'none']
    assert main([*args, '--block', '10']) == 0, capsys.readouterr().err
    assert f'wrote {out}' in capsys.readouterr().out
    result = ipcf.load_result(out)
    assert result.dims == whole.dims
    assert_allclose(result, whole, rtol=0, atol=1e-6)
    out = tmp_path / 'autos.zarr'
    args[2] = str(out)
    assert main([*args, '--no-cross', '--z', '0,2']) == 0
    autos = ipcf.load_result(out)
    assert autos.dims == ('z', 'y', 'x', 'channel', 'point', 'delay')
    assert autos.attrs['cross'] is False
    for c in range(2):
        assert_allclose(
            autos.sel(channel=c),
            whole.sel(z=[0, 2], channel=c, neighbour_channel=c),
            rtol=0,
            atol=1e-6,
        )
    assert 'cross=False' in autos.encoding['provenance']['call']


@pytest.mark.parametrize(
    ('select', 'dims', 'z', 'channels'),
    [
        ({'z': 1}, ('y', 'x', 'channel', 'neighbour_channel'), None, [0, 1]),
        ({'channel': 1, 'z': [0, 2]}, ('z', 'y', 'x'), [0, 2], None),
        ({'channel': [1, 0], 'z': [2]},
         ('y', 'x', 'channel', 'neighbour_channel'), None, [1, 0]),
        ({'channel': 0, 'z': 2}, ('y', 'x'), None, None),
    ],
)  # fmt: skip
def test_subsets(stack, cell, whole, tmp_path, select, dims, z, channels):
    """channel= and z= take one index, a list, or None for all."""
    out = ipcf.analyze(cell, tmp_path / 'r.h5', bleach=None, **select,
                       **OPTIONS)  # fmt: skip
    result = ipcf.load_result(out)
    assert result.dims == (*dims, 'point', 'delay')
    planes = z or [select['z'][0] if isinstance(select['z'], list)
                   else select['z']]  # fmt: skip
    if z is not None:
        assert_array_equal(result['z'], z)
        assert result.attrs['z'] == z
    else:
        assert 'z' not in result.dims
    if channels is not None:
        assert_array_equal(result['channel'], channels)
        assert result.attrs['channel'] == channels
    for k, plane in enumerate(planes):
        part = result.isel(z=k) if z is not None else result
        for i, c in enumerate(channels or [select['channel']]):
            for j, n in enumerate(channels or [c]):
                got = part
                if channels is not None:
                    got = part.isel(channel=i, neighbour_channel=j)
                assert_allclose(got, expected(stack, plane, c, n), atol=1e-5)
    if dims == ('y', 'x'):  # one of each: the layout of a single series
        assert result.attrs['channel'] == 0
        assert result.attrs['z'] == 2
        assert_allclose(
            result, whole.sel(z=2, channel=0, neighbour_channel=0), **FLOAT32
        )


def test_cli_subsets(stack, cell, tmp_path, capsys):
    """--channel and --z take C, C,C or all."""
    out = tmp_path / 'r.h5'
    args = ['analyze', str(cell), str(out), *ARGS, '--bleach', 'none']
    assert main([*args, '--channel', '1', '--z', '0,2']) == 0
    result = ipcf.load_result(out)
    assert result.dims == ('z', 'y', 'x', 'point', 'delay')
    assert_array_equal(result['z'], [0, 2])
    assert_allclose(result.sel(z=2), expected(stack, 2, 1, 1), atol=1e-5)
    args += ['--overwrite']
    assert main([*args, '--channel', 'all', '--z', '1', '--no-cross']) == 0
    result = ipcf.load_result(out)
    assert result.dims == ('y', 'x', 'channel', 'point', 'delay')
    assert_allclose(result.sel(channel=1), expected(stack, 1, 1, 1),
                    atol=1e-5)  # fmt: skip
    capsys.readouterr()
    assert main([*args, '--channel', '0,x']) == 2
    assert 'error' in capsys.readouterr().err


def test_resume_after_kill_across_planes(
    cell, whole, tmp_path, interrupt_after, capsys
):
    """A killed run resumes across planes to the uninterrupted result."""
    out = tmp_path / 'r.h5'
    resume = interrupt_after(6)
    options = {'bleach': None, 'block': 10, 'scheduler': 'synchronous'}
    with pytest.raises(KeyboardInterrupt):
        ipcf.analyze(cell, out, **options, **OPTIONS)
    assert not out.exists()
    done = sorted(p.name for p in (tmp_path / '.r.h5.work/blocks').iterdir())
    assert len(done) == 6
    # 4 blocks a plane, keyed by plane: the kill left planes unfinished
    assert len({name.split('_')[0] for name in done}) >= 2
    resume()
    with pytest.raises(ValueError, match='other parameters'):
        ipcf.analyze(cell, out, cross=False, resume=True, **options,
                     **OPTIONS)  # fmt: skip
    args = ['analyze', str(cell), str(out), *ARGS, '--bleach', 'none']
    args += ['--block', '10', '--scheduler', 'synchronous']
    assert main([*args, '--channel', '1', '--resume']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert 'give --channel C and --z Z' in err[0]
    assert 'channels 0, 1 and z-planes 0, 1, 2' in err[0]
    assert main([*args, '--resume']) == 0, capsys.readouterr().err
    result = ipcf.load_result(out)
    assert_allclose(result, whole, rtol=0, atol=1e-6)
    assert result.attrs['timings']['resumed_blocks'] == 6
    assert not (tmp_path / '.r.h5.work').exists()


def test_cli_interrupted(cell, tmp_path, monkeypatch, capsys):
    """An interrupted ipcf analyze says how to resume."""

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, '_compute_block', interrupted)
    out = tmp_path / 'r.h5'
    args = ['analyze', str(cell), str(out), *ARGS, '--z', '1']
    args += ['--bleach', 'none', '--scheduler', 'synchronous']
    assert main(args) == 130
    assert '--resume' in capsys.readouterr().err
    assert (tmp_path / '.r.h5.work').exists()


def test_bleach_per_channel(stack, cell, tmp_path):
    """Each channel of each plane is bleach-corrected on its own."""
    from ipcf import bleach

    out = ipcf.analyze(cell, tmp_path / 'r.h5', bleach='filter:256',
                       z=[0, 1], **OPTIONS)  # fmt: skip
    result = ipcf.load_result(out)
    assert result.attrs['bleach'] == 'filter:256'
    assert result.attrs['frames'] == 512
    for k in (0, 1):
        corrected = [
            bleach.correct(stack[:, c, k], method='filter', param=256)
            for c in range(2)
        ]
        for c in range(2):
            for n in range(2):
                neighbour = None if c == n else corrected[n]
                want = ipcf.pcf_image(corrected[c], neighbour=neighbour,
                                      **OPTIONS)  # fmt: skip
                got = result.sel(z=k, channel=c, neighbour_channel=n)
                assert_allclose(got, want, rtol=0, atol=1e-5)


def test_roi_and_mask_in_every_plane(stack, cell, tmp_path):
    """ROI and mask apply to every plane and channel."""
    mask = numpy.zeros((24, 24), bool)
    mask[6:12, 5:17] = True
    roi = (1, 22, 2, 21)
    out = ipcf.analyze(cell, tmp_path / 'r.zarr', bleach=None, block=6,
                       roi=roi, mask=mask, z=[0, 2], cross=False,
                       **OPTIONS)  # fmt: skip
    result = ipcf.load_result(out)
    assert result['y'].values[0] == 1 + 2
    assert result['x'].values[0] == 2 + 2
    for k, z in enumerate([0, 2]):
        for c in range(2):
            crop = stack[:, c, z, 1:22, 2:21]
            want = ipcf.pcf_image(crop, mask=mask[1:22, 2:21], **OPTIONS)
            got = result.isel(z=k, channel=c)
            assert_allclose(got, want, rtol=0, atol=1e-5)
    assert numpy.isnan(result.values[:, 9:]).all()


def test_series_source(stack, cell, tmp_path):
    """A labelled series of the file analyses as the file does."""
    series = ipcf.open_series(cell, z=[0, 2])
    out = ipcf.analyze(series, tmp_path / 'r.h5', bleach=None, channel=1,
                       **OPTIONS)  # fmt: skip
    result = ipcf.load_result(out)
    assert result.dims == ('z', 'y', 'x', 'point', 'delay')
    assert_array_equal(result['z'], [0, 2])
    assert_allclose(result.sel(z=2), expected(stack, 2, 1, 1), atol=1e-5)
    with pytest.raises(ValueError, match='not among'):
        ipcf.analyze(series, tmp_path / 's.h5', z=1, **OPTIONS)


def test_bad_selections(cell, tmp_path):
    out = tmp_path / 'r.h5'
    with pytest.raises(ValueError, match='repeats'):
        ipcf.analyze(cell, out, channel=[0, 0], **OPTIONS)
    with pytest.raises(ValueError, match='one index'):
        ipcf.analyze(cell, out, channel=[0, 1], z=0, neighbour_channel=1,
                     **OPTIONS)  # fmt: skip
    with pytest.raises(ValueError, match="directions='both'"):
        ipcf.analyze(cell, out, cross=False, directions='both', **OPTIONS)
    with pytest.raises(TypeError, match='cross='):
        ipcf.analyze(cell, out, cross='yes', **OPTIONS)
    with pytest.raises(TypeError, match='planes='):
        pipeline.run(
            ipcf.pcf.PcfAnalysis(**OPTIONS),
            [numpy.zeros((64, 12, 12))],
            out,
            planes=[0, 1],
        )
    assert not out.exists()


def test_maps_of_every_plane_and_pair(whole, cell, tmp_path, capsys):
    """Maps of every plane and pair: each that of its selection."""
    one = whole.sel(z=0, channel=0, neighbour_channel=1)
    expected = ipcf.maps(one, pixel_size=0.1, w=0.25)
    assert expected['D'].dims == ('y', 'x')
    several = ipcf.maps(whole, pixel_size=0.1, w=0.25)
    assert several['D'].dims == ('z', 'y', 'x', 'channel', 'neighbour_channel')
    got = ipcf.analysis.select(several, z=0, channel=0, neighbour_channel=1)
    assert_array_equal(got['D'], expected['D'])
    assert got.attrs['D_pooled'] == expected.attrs['D_pooled']
    out = tmp_path / 'r.h5'
    args = ['analyze', str(cell), str(out), *ARGS, '--maps', '--z', '0',
            '--psf-radius', '0.25']  # fmt: skip
    assert main([*args, '--bleach', 'none']) == 0, capsys.readouterr().err
    assert 'pooled D' in capsys.readouterr().out
    stored = ipcf.analysis.load_maps(tmp_path / 'r_maps.h5')
    assert stored['D'].dims == ('y', 'x', 'channel', 'neighbour_channel')
    assert_allclose(stored['D'].sel(channel=0, neighbour_channel=1),
                    expected['D'], rtol=1e-5)  # fmt: skip


# the units of pcf_image ----------------------------------------------------


def test_units_source_of_pcf_image(stack, cell, tmp_path):
    """Given units win, the file's are used, dt defaults to one frame."""
    import tifffile

    plane = stack[:256, 0, 1]
    path = tmp_path / 'plane.ome.tif'
    tifffile.imwrite(path, plane, ome=True, metadata={
        'axes': 'TYX', 'PhysicalSizeX': 0.1, 'PhysicalSizeY': 0.1,
        'TimeIncrement': 2.0, 'TimeIncrementUnit': 'ms'})  # fmt: skip
    small = {'radius': 2, 'npoints': 8, 'nbins': 8}
    from_file = ipcf.pcf_image(path, **small)
    assert from_file.attrs['units_source'] == {
        'dt': 'file', 'pixel_size': 'file'
    }  # fmt: skip
    assert from_file.attrs['dt'] == 0.002
    assert from_file.attrs['pixel_size'] == 0.1
    given = ipcf.pcf_image(path, dt=0.5, pixel_size=0.2, psf_radius=0.3,
                           **small)  # fmt: skip
    assert given.attrs['units_source'] == {
        'dt': 'argument', 'pixel_size': 'argument', 'psf_radius': 'argument'
    }  # fmt: skip
    assert (given.attrs['dt'], given.attrs['pixel_size']) == (0.5, 0.2)
    assert_allclose(given['delay'], from_file['delay'] / 0.002 * 0.5)
    assert_allclose(given, from_file, rtol=0, atol=0)
    bare = ipcf.pcf_image(plane, **small)
    assert bare.attrs['units_source'] == {'dt': 'default'}
    assert bare.attrs['dt'] == 1.0
    assert 'pixel_size' not in bare.attrs
    assert_allclose(bare, from_file, rtol=0, atol=0)
    # one plane of the labelled series of a file brings its units
    series = ipcf.open_series(cell, channel=0, z=1)
    labelled = ipcf.pcf_image(series, **small)
    assert labelled.attrs['units_source'] == {
        'dt': 'file', 'pixel_size': 'file'
    }  # fmt: skip
    assert labelled.attrs['dt'] == 0.001
    assert_allclose(labelled, ipcf.pcf_image(stack[:, 0, 1], **small),
                    atol=1e-6)  # fmt: skip
    with pytest.raises(ValueError, match='select one channel'):
        ipcf.pcf_image(ipcf.open_series(cell, z=1), **small)


# ipcf info -----------------------------------------------------------------


def info_lines(capsys):
    lines = capsys.readouterr().out.splitlines()
    return dict(line.strip().split(': ', 1) for line in lines)


def test_info_of_channels_and_planes(cell, capsys):
    """ipcf info names axes, shape, dtype, units, channels and sources."""
    assert main(['info', str(cell)]) == 0
    info = info_lines(capsys)
    assert info['axes'] == 'TCZYX'
    assert info['shape'] == '(1024, 2, 3, 24, 24)'
    assert info['dtype'] == 'uint16'
    assert info['pixel size'] == '0.1 x 0.1 x 0.5 µm'
    assert info['frame interval'] == '0.001 s'
    assert info['channels'] == 'GFP, mCherry'
    assert 'frame interval: OME TimeIncrement' in info['units from']
    assert 'pixel size: OME PhysicalSizeX' in info['units from']


def test_info_of_plain_files(stack, tmp_path, capsys):
    """A plain TIFF: no units recorded, one channel; SimFCS: the note."""
    import tifffile

    plain = tmp_path / 'plain.tif'
    tifffile.imwrite(plain, stack[:64, 1, 0])
    assert main(['info', str(plain)]) == 0
    info = info_lines(capsys)
    assert (info['axes'], info['shape']) == ('TYX', '(64, 24, 24)')
    assert info['pixel size'] == 'not recorded'
    assert info['frame interval'] == 'not recorded'
    assert info['channels'] == '1'
    unnamed = tmp_path / 'unnamed.tif'
    hyperstack = stack[:64, :, :2].transpose(0, 2, 1, 3, 4)
    tifffile.imwrite(unnamed, hyperstack, imagej=True,
                     metadata={'axes': 'TZCYX'})  # fmt: skip
    assert main(['info', str(unnamed)]) == 0
    info = info_lines(capsys)
    assert info['shape'] == '(64, 2, 2, 24, 24)'
    assert info['channels'] == '2, not named'
    lfdfiles = pytest.importorskip('lfdfiles')
    b64 = tmp_path / 'cell.b64'
    lfdfiles.simfcsb64_write(b64, stack[:16, 0, 0].astype(numpy.int16))
    assert main(['info', str(b64)]) == 0
    info = info_lines(capsys)
    assert 'frame interval is not known' in info['units note']
    assert info['units from'] == 'axes: SimFCS B64 header'
