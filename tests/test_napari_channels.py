"""Tests of the napari reader on results of several planes and channels.

The pCF layer gets the planes and channel pairs as sliders after point
and delay; each map is one layer with the same sliders, lined up with
the pCF layer's, and the flow arrows carry their plane and pair.
"""

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip('napari', reason='the napari plugin needs napari')

import ipcf  # noqa: E402
from ipcf.analysis import select  # noqa: E402
from ipcf.napari import read_result  # noqa: E402
from ipcf.napari._reader import flow_vectors, result_layers  # noqa: E402

SELECTION = ('z', 'channel', 'neighbour_channel')


@pytest.fixture(scope='module')
def stored(tmp_path_factory):
    """A 2-channel, 2-plane OME-TIFF analysed: every plane and pair."""
    import tifffile

    rng = numpy.random.default_rng(5)
    base = rng.poisson(50, (256, 2, 2, 12, 12))
    shared = rng.poisson(20, (256, 1, 2, 12, 12))  # seen by both channels
    stack = (base + shared).astype(numpy.uint16)
    folder = tmp_path_factory.mktemp('napari')
    path = folder / 'cell.ome.tif'
    tifffile.imwrite(path, stack, ome=True, metadata={
        'axes': 'TCZYX', 'PhysicalSizeX': 0.1, 'PhysicalSizeY': 0.1,
        'Channel': {'Name': ['GFP', 'mCherry']}})  # fmt: skip
    out = ipcf.analyze(path, folder / 'r.h5', radius=2, npoints=8, nbins=8,
                       bleach=None)  # fmt: skip
    return out, ipcf.load_result(out)


def test_pcf_layer_has_selection_sliders(stored):
    """Planes and pairs are sliders; values as the result's."""
    path, result = stored
    layers = read_result(str(path))
    (values, kwargs, kind), *_ = layers
    assert kind == 'image'
    labels = ('point', 'delay', *SELECTION, 'y', 'x')
    assert kwargs['axis_labels'] == labels
    assert_array_equal(values, result.transpose(*labels).values)
    assert_allclose(kwargs['scale'], (1, 1, 1, 1, 1, 0.1, 0.1))
    assert_allclose(kwargs['translate'][-2:], (0.2, 0.2))


def test_map_layers_have_the_same_sliders(stored):
    """Each map layer holds every plane and pair, lined up with the pCF."""
    from napari.components import ViewerModel
    from napari.layers import Layer

    _, result = stored
    maps = ipcf.maps(result, pixel_size=0.1, w=0.25)
    layers = result_layers(result, maps=maps, name='cell')
    kinds = [kw['metadata']['ipcf']['kind'] for _, kw, _ in layers]
    assert kinds[0] == 'pcf' and kinds[-1] == 'flow' and 'map' in kinds
    at = {'z': 1, 'channel': 0, 'neighbour_channel': 1}
    one = select(maps, **at)
    for values, kwargs, _ in layers[1:-1]:
        key = kwargs['metadata']['ipcf']['variable']
        assert values.shape == (2, 2, 2, 8, 8)
        assert_allclose(kwargs['scale'], (1, 1, 1, 0.1, 0.1))
        assert_array_equal(values[1, 0, 1], one[key].values.astype('f4'))
    vectors = layers[-1][0]
    assert vectors.shape[1:] == (2, 5)
    mine = vectors[(vectors[:, 0, :3] == (1, 0, 1)).all(axis=1)]
    assert_array_equal(mine[:, :, 3:], flow_vectors(one, step=1))
    assert not vectors[:, 1, :3].any()  # no extent across selections
    viewer = ViewerModel()
    for item in layers:
        viewer.add_layer(Layer.create(*item))
    assert viewer.dims.ndim == 7
    viewer.dims.set_point(2, 1)  # plane 1: the map layers follow
    assert viewer.layers[1].data.shape[0] == 2
