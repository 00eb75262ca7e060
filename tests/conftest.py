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
