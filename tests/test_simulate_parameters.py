"""Tests of ipcf.simulate._parameters: shared checks and shared docs."""

from __future__ import annotations

import numpy
import pytest

from ipcf.simulate._parameters import check_parameters, document

ARGUMENTS = {
    'shape': (4, 8, 8),
    'diffusion': 4.0,
    'fraction': None,
    'pixel_size': 0.1,
    'frame_time': 1e-3,
    'psf_radius': 0.25,
    'density': 5.0,
    'brightness': 50.0,
    'background': 2.0,
    'offset': 100.0,
    'seed': 0,
    'dtype': 'uint16',
}


def test_check_parameters():
    params = check_parameters({**ARGUMENTS, 'channel_width': 'ignored'})
    assert params.shape == (4, 8, 8)
    assert params.dtype == numpy.dtype('uint16')
    assert params.width == 2.5
    assert params.half == 6
    assert params.sigma == pytest.approx((2 * 4.0 * 1e-3) ** 0.5 / 0.1)
    # fixed values fill fields the function does not take
    arguments = {k: v for k, v in ARGUMENTS.items() if k != 'dtype'}
    assert check_parameters(arguments, dtype='int32').dtype == 'int32'
    with pytest.raises(KeyError):
        check_parameters(arguments)


def test_check_parameters_populations():
    params = check_parameters(
        {**ARGUMENTS, 'diffusion': numpy.array([1.0, 4.0]), 'fraction': 0.2}
    )
    assert params.diffusion == (1.0, 4.0)
    assert params.fraction == (0.2, 0.8)
    assert len(params.sigmas) == 2
    one = check_parameters({**ARGUMENTS, 'diffusion': [2.0]})
    assert one.diffusion == 2.0
    assert one.fraction is None


def test_document_fills_markers():
    @document
    def f(*, shape=(2, 3, 4), seed=None, other=1):
        """Summary.

        Parameters
        ----------
        {shape}
        other : int
            Not shared.
        {seed}

        {raises}
        """

    doc = f.__doc__
    assert (
        '        shape : tuple of 3 int, optional, default: (2, 3, 4)\n' in doc
    )
    assert '            Frames, height and width' in doc
    assert '        seed : int, optional\n' in doc
    assert '        Raises\n        ------\n        TypeError\n' in doc
    assert '{' not in doc


def test_document_unknown_names():
    with pytest.raises(KeyError, match='nonsense'):

        @document
        def f():
            """Summary.

            {nonsense}
            """

    with pytest.raises(KeyError, match='seed'):

        @document
        def g(*, shape=(1, 1, 1)):
            """Summary.

            {seed}
            """


def test_document_without_docstring():
    def f():
        pass

    assert document(f) is f
    assert f.__doc__ is None
