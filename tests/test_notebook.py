"""Run the tutorial notebook, so that it cannot fall out of date."""

import pathlib

import pytest

NOTEBOOK = pathlib.Path(__file__).parents[1] / 'docs' / 'tutorial.ipynb'


@pytest.mark.slow
def test_tutorial_runs(tmp_path):
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    pytest.importorskip('ipykernel')
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    # the notebook's defaults are its small sizes; check they are set
    parameters = notebook.cells[1].source
    assert 'FULL = False' in parameters
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name='python3',
        resources={'metadata': {'path': str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == 'code'
        for output in cell.outputs
        if output.output_type == 'error'
    ]
    assert not errors
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == 'code'
        for output in cell.outputs
        if 'image/png' in output.get('data', {})
    ]
    assert len(images) >= 10
    output = tmp_path / 'tutorial-output'
    report = output / 'channel_report.html'
    assert report.read_text(encoding='utf-8').startswith('<!DOCTYPE html>')
    assert len(list((output / 'frames').glob('*.tif'))) > 16


def test_tutorial_is_stored_without_outputs():
    """Outputs are made by running it; the file holds only the source."""
    nbformat = pytest.importorskip('nbformat')
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == 'code':
            assert not cell.outputs
            assert cell.execution_count is None
