"""Microscope files: Zeiss CZI, Leica LIF, Nikon ND2 and SimFCS stacks.

Every file is written here: CZI through pylibCZIrw (its TimeStamps
attachment added by hand), LIF and ND2 by minimal writers of their
layouts (neither package writes), SimFCS B64 and Z64 through lfdfiles.
"""

import logging
import pickle
import struct
import sys
import uuid

import numpy
import pytest
from numpy.testing import assert_array_equal

from ipcf.io import open_series, read_metadata
from ipcf.io.czi import czi_layout, czi_units, open_czi
from ipcf.io.lfd import lfd_layout, lfd_units, open_lfd
from ipcf.io.lif import lif_layout, lif_units, open_lif
from ipcf.io.nd2 import nd2_layout, nd2_units, open_nd2

pyczi = pytest.importorskip('pylibCZIrw.czi')
pytest.importorskip('liffile')
pytest.importorskip('nd2')
lfdfiles = pytest.importorskip('lfdfiles')

T, C, Z, Y, X = 5, 2, 3, 6, 7
REGULAR = [0.0, 0.1, 0.2, 0.3, 0.4]
DROPPED = [0.0, 0.1, 0.2, 0.3, 0.5]  # one frame dropped


@pytest.fixture(scope='module')
def data():
    """Seeded (T, C, Z, Y, X) uint16 data."""
    rng = numpy.random.default_rng(3)
    return rng.integers(0, 4000, (T, C, Z, Y, X), dtype=numpy.uint16)


# writers ---------------------------------------------------------------


def write_czi(path, data, *, stamps=None):
    """Write (T, C, Z, Y, X) data with scaling and channel names."""
    with pyczi.create_czi(str(path)) as czi:
        for t, c, z in numpy.ndindex(data.shape[:3]):
            czi.write(data[t, c, z][..., None], plane={'T': t, 'C': c, 'Z': z})
        czi.write_metadata(
            channel_names={0: 'GFP', 1: 'RFP'},
            scale_x=0.1e-6,
            scale_y=0.12e-6,
            scale_z=0.5e-6,
        )
    if stamps is not None:
        add_czi_time_stamps(path, stamps)
    return path


def add_czi_time_stamps(path, stamps):
    """Append a TimeStamps attachment and its directory to a CZI file."""

    def segment(sid, body):
        body += b'\0' * (-len(body) % 32)
        size = len(body)
        return sid.ljust(16, b'\0') + struct.pack('<qq', size, size) + body

    content = struct.pack('<ii', 8 + 8 * len(stamps), len(stamps))
    content += numpy.asarray(stamps, '<f8').tobytes()
    with open(path, 'r+b') as fh:
        end = fh.seek(0, 2)
        at = end + (-end % 32)

        def entry(position):
            return struct.pack(
                '<2s10sqi16s8s80s',
                b'A1',
                b'',
                position,
                0,
                uuid.uuid4().bytes,
                b'CZTIMS',
                b'TimeStamps',
            )

        attach = struct.pack('<i12x', len(content)) + entry(0) + b'\0' * 112
        fh.seek(at)
        fh.write(segment(b'ZISRAWATTACH', attach + content))
        directory = fh.tell()
        listing = struct.pack('<i252x', 1) + entry(at)
        fh.write(segment(b'ZISRAWATTDIR', listing))
        fh.seek(32 + 72)  # the header's AttachmentDirectoryPosition
        fh.write(struct.pack('<q', directory))
    return path


def write_lif(path, data, *, stamps=None, images=('series1',)):
    """Write (T, C, Z, Y, X) uint16 data as a minimal version-2 LIF."""
    nt, nc, nz, ny, nx = data.shape
    plane = ny * nx * 2

    def dim(i, n, length, unit, inc):
        return (
            f'<DimensionDescription DimID="{i}" NumberOfElements="{n}" '
            f'Origin="0" Length="{length!r}" Unit="{unit}" BitInc="0" '
            f'BytesInc="{inc}"/>'
        )

    channels = ''.join(
        f'<ChannelDescription DataType="0" ChannelTag="0" Resolution="16" '
        f'NameOfMeasuredQuantity="" Min="0" Max="65535" Unit="" '
        f'LUTName="Green" IsLUTInverted="0" BytesInc="{c * plane}" '
        f'BitInc="0"/>'
        for c in range(nc)
    )
    dims = dim(1, nx, 0.1e-6 * (nx - 1), 'm', 2)
    dims += dim(2, ny, 0.1e-6 * (ny - 1), 'm', 2 * nx)
    dims += dim(3, nz, 0.5e-6 * (nz - 1), 'm', plane * nc)
    dims += dim(4, nt, 0.25 * (nt - 1), 's', plane * nc * nz)
    times = ''
    if stamps is not None:  # FILETIME: 100 ns since 1601
        ticks = numpy.round(numpy.asarray(stamps) * 1e7).astype(numpy.int64)
        ticks += 133500000000000000
        times = (
            f'<TimeStampList NumberOfTimeStamps="{ticks.size}">'
            f'{" ".join(f"{v:x}" for v in ticks)}</TimeStampList>'
        )
    # stored C fastest after Y, X; then Z, then T
    payload = data.transpose(0, 2, 1, 3, 4).tobytes()
    elements = ''.join(
        f'<Element Name="{name}"><Data><Image><ImageDescription>'
        f'<Channels>{channels}</Channels><Dimensions>{dims}</Dimensions>'
        f'</ImageDescription>{times}</Image></Data>'
        f'<Memory Size="{len(payload)}" MemoryBlockID="MemBlock_{k}"/>'
        f'<Children/></Element>'
        for k, name in enumerate(images)
    )
    xml = (
        '<LMSDataContainerHeader Version="2"><Element Name="file">'
        '<Data><Experiment/></Data>'
        '<Memory Size="0" MemoryBlockID="MemBlock_root"/>'
        f'<Children>{elements}</Children></Element></LMSDataContainerHeader>'
    )
    blocks = [('MemBlock_root', b'')]
    blocks += [(f'MemBlock_{k}', payload) for k in range(len(images))]
    with open(path, 'wb') as fh:
        text = xml.encode('utf-16-le')
        fh.write(struct.pack('<IIBI', 0x70, len(text) + 5, 0x2A, len(xml)))
        fh.write(text)
        for block, body in blocks:
            fh.write(
                struct.pack(
                    '<IIBQBI', 0x70, 0, 0x2A, len(body), 0x2A, len(block)
                )
            )
            fh.write(block.encode('utf-16-le') + body)
    return path


ND2_MAGIC = 0x0ABECEDA


def _clx(name, value):
    """Return a value as the XML variant of ND2 metadata."""
    if isinstance(value, dict):
        inner = ''.join(_clx(k, v) for k, v in value.items())
        return f'<{name}>{inner}</{name}>'
    kind = {bool: 'bool', int: 'lx_uint32', float: 'double'}.get(
        type(value), 'CLxStringW'
    )
    text = str(value).lower() if isinstance(value, bool) else value
    return f'<{name} runtype="{kind}" value="{text}"/>'


def _variant(name, value):
    return f'<variant version="1.0">{_clx(name, value)}</variant>'.encode()


def write_nd2(path, data, *, times_ms=None, period_ms=0.0):
    """Write (T, C, Z, Y, X) uint16 data as a minimal ND2 3.0 file.

    The metadata chunks are XML variants, which the nd2 package reads
    as it reads the binary ones; each frame holds all channels.
    """
    nt, nc, nz, ny, nx = data.shape
    attributes = {
        'uiWidth': nx,
        'uiWidthBytes': nx * nc * 2,
        'uiHeight': ny,
        'uiComp': nc,
        'uiBpcInMemory': 16,
        'uiBpcSignificant': 16,
        'uiSequenceCount': nt * nz,
        'eCompression': 2,
    }
    planes = {
        f'a{c}': {
            'sDescription': name,
            'uiCompCount': 1,
            'uiSampleIndex': c,
            'pFluorescentProbe': {
                'm_EmissionSpectrum': {
                    'uiCount': 1,
                    'pPoint': {
                        'Point0': {
                            'dTValue': 1.0,
                            'dWavelength': wave,
                            'eType': 1,
                        }
                    },
                }
            },
        }
        for c, (name, wave) in enumerate([('GFP', 510.0), ('RFP', 600.0)])
    }
    picture = {
        'bCalibrated': True,
        'dCalibration': 0.2,
        'dTimeAbsolute': 2460000.5,  # 2023-02-25 00:00 UTC
        'dTimeMSec': 0.0,
        'sPicturePlanes': {'uiCount': nc, 'sPlaneNew': planes},
    }
    zloop = {
        'eType': 4,
        'uLoopPars': {
            'uiCount': nz,
            'dZStep': 0.5,
            'dZLow': 0.0,
            'dZHigh': 0.5 * (nz - 1),
            'dZHome': 0.0,
            'iType': 0,
            'bZInverted': False,
        },
    }
    experiment = {
        'eType': 1,
        'uLoopPars': {
            'uiCount': nt,
            'dStart': 0.0,
            'dPeriod': float(period_ms),
            'dDuration': 0.0,
        },
        'ppNextLevelEx': {'i0000000000': zloop},
    }
    chunks = [
        (b'ImageAttributesLV!', _variant('SLxImageAttributes', attributes)),
        (b'ImageMetadataSeqLV|0!', _variant('SLxPictureMetadata', picture)),
        (b'ImageMetadataLV!', _variant('SLxExperiment', experiment)),
    ]
    if times_ms is not None:
        times = numpy.asarray(times_ms, '<f8').tobytes()
        chunks.append((b'CustomData|AcqTimesCache!', times))
    # frames in loop order (T, then Z), pixels as (Y, X, C)
    frames = data.transpose(0, 2, 3, 4, 1).reshape(nt * nz, -1)
    for i, frame in enumerate(frames):
        body = struct.pack('<d', 0.0) + frame.tobytes()
        chunks.append((f'ImageDataSeq|{i}!'.encode(), body))
    with open(path, 'wb') as fh:
        fh.write(struct.pack('<IIQ', ND2_MAGIC, 32, 64))
        fh.write(b'ND2 FILE SIGNATURE CHUNK NAME01!')
        fh.write(b'Ver3.0'.ljust(64, b'\0'))
        table = b''
        for name, body in chunks:
            fh.write(b'\0' * (-fh.tell() % 4096))
            offset = fh.tell()
            # image data start 4096 bytes into their chunk (after a stamp)
            size = 4072 if name.startswith(b'ImageDataSeq') else len(name)
            fh.write(struct.pack('<IIQ', ND2_MAGIC, size, len(body)))
            fh.write(name.ljust(size, b'\0') + body)
            table += name + struct.pack('<QQ', offset, len(body))
        where = fh.tell()
        table += b'ND2 CHUNK MAP SIGNATURE 0000001!' + struct.pack('<Q', where)
        fh.write(struct.pack('<IIQ', ND2_MAGIC, 32, len(table)))
        fh.write(b'ND2 FILEMAP SIGNATURE NAME 0001!' + table)
    return path


def write_b64(path, frames):
    lfdfiles.simfcsb64_write(path, frames.astype(numpy.int16))
    return path


def write_z64(path, frames):
    lfdfiles.simfcsz64_write(path, frames.astype(numpy.float32))
    return path


WRITERS = {
    'czi': lambda p, d, s: write_czi(p, d, stamps=s),
    'lif': lambda p, d, s: write_lif(p, d, stamps=s),
    'nd2': lambda p, d, s: write_nd2(
        p, d, times_ms=None if s is None else numpy.repeat(s, Z) * 1e3
    ),
}
OPENERS = {'czi': open_czi, 'lif': open_lif, 'nd2': open_nd2}
UNITS = {'czi': czi_units, 'lif': lif_units, 'nd2': nd2_units}
LAYOUTS = {'czi': czi_layout, 'lif': lif_layout, 'nd2': nd2_layout}
PACKAGES = {
    'czi': 'pylibCZIrw',
    'lif': 'liffile',
    'nd2': 'nd2',
    'lfd': 'lfdfiles',
}


@pytest.fixture(scope='module')
def files(tmp_path_factory, data):
    """Each format's file of `data`, with regular time stamps."""
    tmp = tmp_path_factory.mktemp('formats')
    return {
        fmt: write(tmp / f'a.{fmt}', data, REGULAR)
        for fmt, write in WRITERS.items()
    }


# reading ---------------------------------------------------------------


@pytest.mark.parametrize('fmt', sorted(WRITERS))
def test_each_channel_and_plane_reads_back(files, data, fmt):
    """open_series(path, channel=, z=) and open_<fmt> read data[:, c, z]."""
    path = files[fmt]
    assert LAYOUTS[fmt](path) == dict(T=T, C=C, Z=Z, Y=Y, X=X)
    for c, z in numpy.ndindex(C, Z):
        expected = data[:, c, z]
        series = open_series(path, channel=c, z=z)
        assert series.shape == (T, Y, X)
        assert series.dtype == numpy.uint16
        assert_array_equal(series[:], expected)
        view = OPENERS[fmt](path, channel=c, z=z)
        assert_array_equal(view[1:4, 2:5, 1:6], expected[1:4, 2:5, 1:6])
        assert_array_equal(view[::-2, -1, ::3], expected[::-2, -1, ::3])
        assert view[3, 4, 5] == expected[3, 4, 5]
    copy = pickle.loads(pickle.dumps(view))
    assert_array_equal(copy[:], expected)
    assert_array_equal(pickle.loads(pickle.dumps(series))[:], expected)


@pytest.mark.parametrize('fmt', sorted(WRITERS))
def test_selection_is_checked(files, fmt):
    """C and Z axes must be selected; indices are range-checked."""
    path = files[fmt]
    with pytest.raises(ValueError, match=r'C=2, Z=3\); pass channel= and z='):
        OPENERS[fmt](path)
    with pytest.raises(ValueError, match=r'Z=3\); pass z= to select') as info:
        OPENERS[fmt](path, channel=1)
    assert '\n' not in str(info.value) and repr(str(path)) in str(info.value)
    with pytest.raises(ValueError, match=r'channel=2 is out of range.*0 to 1'):
        OPENERS[fmt](path, channel=2, z=0)
    with pytest.raises(TypeError, match=r'z=1.0 is not an integer'):
        OPENERS[fmt](path, channel=0, z=1.0)


def test_a_single_axis_serves_as_frames(tmp_path, data):
    """Without a time axis, a z-stack of one channel reads as frames."""
    path = write_czi(tmp_path / 'z.czi', data[:1, :1])
    assert czi_layout(path) == dict(T=Z, C=1, Z=1, Y=Y, X=X)
    assert_array_equal(open_czi(path)[:], data[0, 0])


# units -----------------------------------------------------------------


EXPECTED = {
    'czi': {
        'pixel_size': 0.1,
        'pixel_size_y': 0.12,
        'pixel_size_z': 0.5,
        'frame_interval': 0.1,
        'channels': ['GFP', 'RFP'],
    },
    'lif': {
        'pixel_size': 0.1,
        'pixel_size_y': 0.1,
        'pixel_size_z': 0.5,
        'frame_interval': 0.1,
        'acquisition_date': '2024-01-17T21:20:00.000',
    },
    'nd2': {
        'pixel_size': 0.2,
        'pixel_size_y': 0.2,
        'pixel_size_z': 0.5,
        'frame_interval': 0.1,
        'channels': ['GFP', 'RFP'],
        'wavelengths': [510.0, 600.0],
        'acquisition_date': '2023-02-25T00:00:00+00:00',
    },
}
SOURCES = {
    'czi': ('CZI Scaling Distance X', 'CZI TimeStamps attachment'),
    'lif': ('LIF DimensionDescription X', 'LIF TimeStampList'),
    'nd2': ('ND2 calibration', 'ND2 frame time stamps'),
}


@pytest.mark.parametrize('fmt', sorted(WRITERS))
def test_units_and_their_sources(files, fmt, caplog):
    """Pixel sizes, interval from the time stamps, names, dates."""
    with caplog.at_level(logging.WARNING, logger='ipcf'):
        units = read_metadata(files[fmt])
    assert not caplog.records
    assert units == UNITS[fmt](files[fmt])
    for key, value in EXPECTED[fmt].items():
        assert (
            units[key] == pytest.approx(value)
            if isinstance(value, float)
            else units[key] == value
        ), key
    assert 'units_note' not in units
    sources = units['units_source']
    assert (sources['pixel_size'], sources['frame_interval']) == SOURCES[fmt]
    assert set(units['axes']) == set('TCZYX')


@pytest.mark.parametrize('fmt', sorted(WRITERS))
def test_irregular_time_stamps_warn(tmp_path, data, fmt, caplog):
    """A dropped frame is logged; the interval is still the median."""
    path = WRITERS[fmt](tmp_path / f'b.{fmt}', data, DROPPED)
    with caplog.at_level(logging.WARNING, logger='ipcf'):
        units = UNITS[fmt](path)
    assert units['frame_interval'] == pytest.approx(0.1)
    [record] = caplog.records
    assert 'time stamps are irregular: 1 of 4 intervals' in record.message
    assert repr(str(path)) in record.message


@pytest.mark.parametrize('fmt', sorted(WRITERS))
def test_no_time_stamps(tmp_path, data, fmt):
    """Without stamps: LIF's T dimension, else no interval and a note."""
    path = WRITERS[fmt](tmp_path / f'c.{fmt}', data, None)
    units = UNITS[fmt](path)
    if fmt == 'lif':  # the T dimension's length: 1 s over 4 intervals
        assert units['frame_interval'] == pytest.approx(0.25)
        assert units['units_source']['frame_interval'] == (
            'LIF DimensionDescription T'
        )
        return
    assert 'frame_interval' not in units
    assert 'frame interval is not known' in units['units_note']


def test_nd2_time_loop_period(tmp_path, data):
    """ND2 without frame times: the time loop's period."""
    path = write_nd2(tmp_path / 'p.nd2', data, period_ms=40.0)
    units = nd2_units(path)
    assert units['frame_interval'] == pytest.approx(0.04)
    assert units['units_source']['frame_interval'] == 'ND2 time loop period'


def test_lif_images_are_chosen_by_key(tmp_path, data):
    """A LIF of several images needs key=; key picks one."""
    path = write_lif(tmp_path / 'm.lif', data, images=('one', 'two'))
    with pytest.raises(ValueError, match=r"2 images \('one', 'two'\).*key="):
        open_lif(path, channel=0, z=0)
    view = open_lif(path, key='two', channel=1, z=2)
    assert_array_equal(view[:], data[:, 1, 2])
    assert_array_equal(pickle.loads(pickle.dumps(view))[:], data[:, 1, 2])
    assert lif_layout(path, key='one') == dict(T=T, C=C, Z=Z, Y=Y, X=X)
    units = read_metadata(path, key='one')
    assert units['pixel_size'] == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"key='three' names no images"):
        open_lif(path, key='three', channel=0, z=0)


# SimFCS ----------------------------------------------------------------


@pytest.mark.parametrize('suffix', ['.b64', '.z64'])
def test_simfcs_stacks(tmp_path, suffix):
    """B64 (int16) and Z64 (float32) stacks read as (T, H, W)."""
    frames = numpy.arange(4 * 8 * 8).reshape(4, 8, 8) - 100
    write = write_b64 if suffix == '.b64' else write_z64
    path = write(tmp_path / f's{suffix}', frames)
    series = open_series(path)
    assert series.shape == (4, 8, 8)
    dtype = numpy.int16 if suffix == '.b64' else numpy.float32
    assert series.dtype == dtype
    assert_array_equal(series[:], frames)
    view = open_lfd(path, channel=0, z=0)
    assert_array_equal(view[1:3, 2:5, ::2], frames[1:3, 2:5, ::2])
    assert_array_equal(pickle.loads(pickle.dumps(view))[:], frames)
    assert lfd_layout(path) == dict(T=4, C=1, Z=1, Y=8, X=8)
    units = read_metadata(path)
    assert units == lfd_units(path)
    assert 'frame_interval' not in units
    assert 'no frame interval' in units['units_note']
    with pytest.raises(ValueError, match=r'channel=1 is out of range'):
        open_lfd(path, channel=1)


# errors ----------------------------------------------------------------


@pytest.mark.parametrize('fmt', ['czi', 'lif', 'nd2', 'lfd'])
def test_corrupt_and_truncated_files(tmp_path, files, fmt):
    """Garbage or a cut file: one-line ValueError naming the file."""
    suffix = '.b64' if fmt == 'lfd' else f'.{fmt}'
    garbage = tmp_path / f'garbage{suffix}'
    garbage.write_bytes(b'\x01\x02 not an image file ' * 40)
    if fmt == 'lfd':
        source = write_b64(tmp_path / 'whole.b64', numpy.zeros((4, 8, 8)))
    else:
        source = files[fmt]
    cut = tmp_path / f'cut{suffix}'
    content = source.read_bytes()
    cut.write_bytes(content[: len(content) * 2 // 3])
    for path in (garbage, cut):
        with pytest.raises(ValueError) as info:
            numpy.asarray(open_series(path, channel=0, z=0))
        text = str(info.value)
        assert repr(str(path)) in text and '\n' not in text, text


@pytest.mark.parametrize('fmt', ['czi', 'lif', 'nd2', 'lfd'])
def test_missing_package_names_the_extra(tmp_path, files, monkeypatch, fmt):
    """Without the package: ImportError saying how to install it."""
    path = (
        write_b64(tmp_path / 'a.b64', numpy.zeros((2, 4, 4)))
        if fmt == 'lfd'
        else files[fmt]
    )
    monkeypatch.setitem(sys.modules, PACKAGES[fmt], None)
    with pytest.raises(ImportError, match=r'pip install "ipcf\[formats\]"'):
        open_series(path, channel=0, z=0)
    with pytest.raises(ImportError, match=PACKAGES[fmt]):
        read_metadata(path)


def test_options_of_other_formats_are_refused(files):
    with pytest.raises(
        ValueError, match=r'applies to HDF5 and zarr files and LIF'
    ):
        open_series(files['czi'], key='data', channel=0, z=0)
