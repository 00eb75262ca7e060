"""HDF5 files and zarr stores holding a series as one 3-D dataset.

Reading picks the dataset ``key``, else ``'data'``, else the only 3-D
dataset, and returns the library's own lazy array (``h5py.Dataset``,
``zarr.Array``). Writing creates dataset ``data`` with chunks that hold
many frames of a small pixel block, as the per-pixel pCF reads them;
:func:`compression_options` translates a compression name into each
library's options, for :mod:`ipcf.convert` too. h5py and zarr are
imported when a store is first used.

>>> check_chunks(None, (600, 40, 20))
(512, 16, 16)
>>> compression_options('hdf5', 'zlib')
{'compression': 'gzip', 'shuffle': True}

"""

from __future__ import annotations

import itertools
import logging
import math
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy

from .._containers import create_array, open_root
from .._files import publishing
from .._validate import check_choice
from ._lazy import ArrayView, Planes, check_plane, normalize_key
from ._output import COMPRESSION, HDF5_ZSTD, blocks, check_compression
from ._units import ngff_axes, ngff_multiscale, ngff_units
from .metadata import attrs_metadata

__all__ = [
    'COMPRESSIONS',
    'KINDS',
    'check_chunks',
    'check_zarr_chunks',
    'compression_options',
    'open_dataset',
    'store_metadata',
    'store_units',
    'write_store',
]

logger = logging.getLogger('ipcf')

KINDS = ('hdf5', 'zarr')
"""The store formats, as :func:`ipcf._files.file_kind` names them."""

COMPRESSIONS: dict[str, tuple[str, ...]] = {k: COMPRESSION[k] for k in KINDS}
"""Store format -> the compression names it takes (besides None).

HDF5: ``'zlib'`` (= ``'gzip'``), ``'lzf'``, and ``'zstd'`` where
hdf5plugin is installed; zarr: ``'zlib'`` (= ``'gzip'``), ``'zstd'``,
``'blosc'``. :func:`compression_options` refuses others with a message
that lists these.

>>> COMPRESSIONS['zarr']
('zlib', 'gzip', 'zstd', 'blosc')
"""

# metadata files in a zarr array's folder, not chunks
_ZARR_METADATA = frozenset(
    {'zarr.json', '.zarray', '.zattrs', '.zgroup', '.zmetadata'}
)


def check_chunks(
    chunks: Sequence[int] | None, shape: Sequence[int], /
) -> tuple[int, int, int]:
    """Return the chunk shape of a stored series, each clipped to shape.

    Parameters
    ----------
    chunks : sequence of 3 int or None
        ``(frames, rows, columns)``. None gives ``(512, 16, 16)``: all
        frames of a small pixel block sit in a few chunks, and a chunk of
        uint16 is 256 KiB.
    shape : sequence of 3 int
        The stored series' ``(T, H, W)``.

    Returns
    -------
    tuple of 3 int

    Raises
    ------
    TypeError
        If `chunks` is not three integers.
    ValueError
        If a chunk length is below 1.

    Examples
    --------
    >>> check_chunks((5, 4, 100), (12, 9, 7))
    (5, 4, 7)

    """
    if chunks is None:
        return (min(shape[0], 512), min(shape[1], 16), min(shape[2], 16))
    if (
        isinstance(chunks, (str, bytes))
        or not isinstance(chunks, Sequence)
        or len(chunks) != 3
        or not all(
            isinstance(c, (int, numpy.integer)) and not isinstance(c, bool)
            for c in chunks
        )
    ):
        msg = f'{chunks=} must be three integers (frames, rows, columns)'
        raise TypeError(msg)
    if min(chunks) < 1:
        msg = f'{chunks=} must be positive'
        raise ValueError(msg)
    return tuple(  # type: ignore[return-value]
        min(int(c), int(n)) for c, n in zip(chunks, shape, strict=True)
    )


def compression_options(kind: str, compression: str | None, /) -> dict:
    """Return the library options that store a compression in kind.

    Parameters
    ----------
    kind : {'hdf5', 'zarr'}
        The store format.
    compression : str or None
        None (uncompressed) or one of ``COMPRESSIONS[kind]``: ``'zlib'``
        or ``'gzip'``; ``'lzf'`` (HDF5); ``'zstd'`` (zarr, and HDF5 with
        hdf5plugin); ``'blosc'`` (zarr).

    Returns
    -------
    dict
        Keyword arguments of ``h5py.Group.create_dataset``
        (``compression``, ``shuffle``) or ``zarr.Group.create_array``
        (``compressors``), as :func:`ipcf._containers.create_array` takes
        them.

    Raises
    ------
    ValueError
        If `kind` is not a store format or `compression` is not one of
        its compressions.
    ImportError
        If zarr>=3 is not installed (zarr only).

    Examples
    --------
    >>> compression_options('hdf5', None)
    {}

    """
    check_choice(kind, 'kind', KINDS)
    compression = check_compression(compression, kind)
    if kind == 'hdf5':
        if compression in {'zlib', 'gzip'}:
            return {'compression': 'gzip', 'shuffle': True}
        if compression == 'lzf':
            return {'compression': 'lzf', 'shuffle': True}
        if compression == 'zstd':
            import hdf5plugin

            return {**hdf5plugin.Zstd(), 'shuffle': True}
        return {}
    codecs = _zarr().codecs
    codec = {
        'zlib': codecs.GzipCodec,
        'gzip': codecs.GzipCodec,
        'zstd': codecs.ZstdCodec,
        'blosc': codecs.BloscCodec,
    }.get(compression)
    # None, not zarr's default compressor, when uncompressed
    return {'compressors': None if codec is None else codec()}


def open_dataset(
    path: pathlib.Path,
    kind: str,
    /,
    *,
    key: str | None = None,
    name: str | None = None,
    gaps: str = 'error',
    channel: int | None = None,
    z: int | None = None,
) -> Any:
    """Return the 3-D dataset of an HDF5 file or zarr store, open.

    Parameters
    ----------
    path : pathlib.Path
        An existing ``.h5`` file or zarr store.
    kind : {'hdf5', 'zarr'}
        Its format.
    key : str, optional
        Path of the dataset in the store. Default: ``'data'`` if that is
        3-D, else the only 3-D dataset.
    name : str, optional
        The source, for messages. Default: ``repr(path)``.
    gaps : {'error', 'ignore'}, optional, default: 'error'
        zarr only: chunks missing from the store (they would read as the
        fill value) raise ValueError naming them; 'ignore' logs them.
    channel, z : int, optional
        OME-Zarr only: index along the c and z axes of the image.

    Returns
    -------
    h5py.Dataset or zarr.Array
        An HDF5 file stays open as long as its dataset is referenced;
        ``dataset.file.close()`` closes it earlier. Both pickle as the
        path and the dataset's name, and open the store again when
        loaded. Reading a damaged zarr chunk raises ValueError naming
        the chunk, the array and the store.

    Raises
    ------
    OSError
        If an HDF5 file is not readable.
    ValueError
        If a zarr store is not readable, has missing chunks, `key` names
        no dataset, or no single 3-D dataset is found.
    ImportError
        If h5py or zarr is not installed.

    """
    name = repr(os.fspath(path)) if name is None else name
    if kind == 'zarr':
        array = _zarr_array(_open_zarr(path, key, name)[0], path, name)
        check_zarr_chunks(array, gaps=gaps, name=name)
        if key is None or array.ndim > 3 or (channel, z) != (None, None):
            return _squeeze_ngff(array, path, name, channel=channel, z=z)
        return array
    h5 = _open_hdf5(path)
    try:
        dataset = _select_member(h5, key, name, _hdf5_members(h5))
        _check_filters(dataset, name)
    except BaseException:
        h5.close()
        raise
    return _hdf5_dataset(dataset)


def _check_filters(dataset: Any, name: str) -> None:
    """Raise ImportError if a compression filter of dataset is missing."""
    import h5py

    plist = dataset.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code, _, _, label = plist.get_filter(i)
        if not h5py.h5z.filter_avail(code):
            text = label.decode(errors='replace').split(';')[0]
            msg = (
                f'{name} is compressed with the HDF5 filter {text!r} '
                f'({code}), which is not installed; pip install hdf5plugin'
            )
            raise ImportError(msg)


def store_metadata(
    path: pathlib.Path,
    kind: str,
    /,
    *,
    key: str | None = None,
    name: str | None = None,
) -> dict:
    """Return the ``'metadata'`` attribute of a store's dataset, or {}.

    The dataset is chosen as by :func:`open_dataset`; without metadata of
    its own, the root group's are returned.

    Raises
    ------
    OSError, ValueError
        As :func:`open_dataset`, or if the metadata are not valid JSON.

    """
    name = repr(os.fspath(path)) if name is None else name
    if kind == 'zarr':
        array, root = _open_zarr(path, key, name)
        return attrs_metadata(
            array.attrs, None if root is None else root.attrs, name=name
        )
    with _open_hdf5(path) as h5:
        dataset = _select_member(h5, key, name, _hdf5_members(h5))
        return attrs_metadata(dataset.attrs, h5.attrs, name=name)


def store_units(path: pathlib.Path, /, *, name: str | None = None) -> dict:
    """Return the units an OME-Zarr store declares, or {}.

    The NGFF ``multiscales`` of the root group give the pixel sizes and
    frame interval of dataset 0 (see :func:`ipcf.io._units.ngff_units`).
    Other zarr stores give {}.

    """
    name = repr(os.fspath(path)) if name is None else name
    zarr = _zarr()
    try:
        root = zarr.open(os.fspath(path), mode='r')
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f'{name} is not a readable zarr store: {text}'
        raise ValueError(msg) from exc
    if isinstance(root, zarr.Array):
        return {}
    return ngff_units(root.attrs.asdict())


def write_store(
    path: pathlib.Path,
    data: Any,
    text: str | None,
    /,
    *,
    kind: str,
    chunks: tuple[int, int, int],
    compression: str | None,
    overwrite: bool,
    bar: Any,
) -> None:
    """Write frames to dataset ``data`` of a new HDF5 file or zarr store.

    Parameters
    ----------
    path : pathlib.Path
        The output.
    data : array_like, shape (T, H, W)
        Checked frames, written ``chunks[0]`` frames at a time.
    text : str or None
        Metadata as JSON text, the dataset's attribute ``'metadata'``.
    kind : {'hdf5', 'zarr'}
        The format; zarr stores are zarr v3 groups.
    chunks : tuple of 3 int
        Checked chunk shape (:func:`check_chunks`).
    compression : str or None
        Checked compression (:func:`compression_options`).
    overwrite : bool
        Replace an existing output.
    bar : progress bar
        Updated with the frames written.

    Raises
    ------
    ImportError
        If h5py, or zarr>=3, is not installed.

    """
    options = compression_options(kind, compression)  # imports zarr
    dtype = numpy.dtype(data.dtype).newbyteorder('=')
    attrs = {'axes': 'TYX'}
    if text is not None:
        attrs['metadata'] = text
    with (
        publishing(path, overwrite=overwrite, directory=kind == 'zarr') as tmp,
        open_root(tmp, kind, 'w') as root,
    ):
        array = create_array(
            root,
            'data',
            shape=data.shape,
            dtype=dtype,
            chunks=chunks,
            compression=options,
            complete=True,
        )
        array.attrs.update(attrs)
        for t0, block in blocks(data, chunks[0]):
            array[t0 : t0 + len(block)] = block
            bar.update(len(block))


def _zarr() -> Any:
    """Return the zarr module, version 3 or later, or raise ImportError."""
    try:
        import zarr
    except ImportError as exc:
        msg = 'zarr stores need zarr>=3; install ipcf[all]'
        raise ImportError(msg) from exc
    if int(zarr.__version__.split('.')[0]) < 3:
        msg = f'zarr stores need zarr>=3, found {zarr.__version__}'
        raise ImportError(msg)
    return zarr


def _open_hdf5(path: pathlib.Path) -> Any:
    """Return an h5py.File opened read-only, or a one-line OSError."""
    import h5py

    if HDF5_ZSTD:
        import hdf5plugin  # noqa: F401 - registers the zstd filter

    try:
        return h5py.File(path, 'r')
    except OSError as exc:
        text = str(exc).splitlines()[0]
        msg = f'{os.fspath(path)!r} is not a readable HDF5 file: {text}'
        raise OSError(msg) from exc


def _hdf5_members(h5: Any) -> dict[str, tuple[int, ...]]:
    """Return {name: shape} of every dataset in an HDF5 file."""
    import h5py

    members: dict[str, tuple[int, ...]] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            members[name] = tuple(obj.shape)

    h5.visititems(visit)
    return members


def _select_member(
    group: Any, key: str | None, name: str, members: dict[str, tuple]
) -> Any:
    """Return the dataset named key, 'data', or the only 3-D one."""
    listing = ', '.join(f'{k!r} {s}' for k, s in members.items()) or 'none'
    if key is not None:
        if key.strip('/') not in members:
            msg = f'{name} has no dataset {key=}; datasets: {listing}'
            raise ValueError(msg)
        return group[key.strip('/')]
    if len(members.get('data', ())) == 3:
        return group['data']
    candidates = [k for k, s in members.items() if len(s) == 3]
    if len(candidates) == 1:
        return group[candidates[0]]
    if candidates:
        listing = ', '.join(f'{k!r} {members[k]}' for k in candidates)
        msg = f'{name} has several 3-D datasets, choose one by key: {listing}'
    else:
        msg = f'{name} has no 3-D dataset; datasets: {listing}'
    raise ValueError(msg)


def _open_zarr(
    path: pathlib.Path, key: str | None, name: str
) -> tuple[Any, Any]:
    """Return (zarr array, its root group or None)."""
    try:
        import zarr
    except ImportError as exc:
        msg = f'reading the zarr store {name} needs zarr; install ipcf[all]'
        raise ImportError(msg) from exc
    try:
        root = zarr.open(os.fspath(path), mode='r')
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f'{name} is not a readable zarr store: {text}'
        raise ValueError(msg) from exc
    if isinstance(root, zarr.Array):
        if key is not None:
            msg = f'{name} is a zarr array, not a group; {key=} is not used'
            raise ValueError(msg)
        return root, None
    multiscale = ngff_multiscale(root.attrs)
    if key is None and multiscale is not None:
        return _ngff_level(root, multiscale, name), root
    members = {
        k: tuple(v.shape)
        for k, v in sorted(root.members(max_depth=None))
        if isinstance(v, zarr.Array)
    }
    return _select_member(root, key, name, members), root


def zarr_layout(
    path: pathlib.Path, /, *, key: str | None = None
) -> tuple[dict[str, int], str]:
    """Return the lengths of the c and z axes of an OME-Zarr image.

    Plain zarr arrays and groups have neither (an empty dict).
    """
    name = repr(os.fspath(path))
    array, root = _open_zarr(path, key, name)
    multiscale = None if root is None else ngff_multiscale(root.attrs)
    if multiscale is None:
        return {}, ''
    labels = [str(a.get('name', '')).lower() for a in ngff_axes(multiscale)]
    if len(labels) != array.ndim:
        return {}, ''.join(labels).upper()
    lengths = dict(zip(labels, (int(n) for n in array.shape), strict=True))
    sizes = {'C': lengths.get('c', 1), 'Z': lengths.get('z', 1)}
    return sizes, ''.join(labels).upper()


def _ngff_level(root: Any, multiscale: dict, name: str) -> Any:
    """Return the first resolution level of an OME-Zarr multiscale."""
    datasets = multiscale.get('datasets') or []
    path = datasets[0].get('path') if datasets else None
    if not isinstance(path, str) or path.strip('/') not in root:
        msg = (
            f'{name} is an OME-Zarr group whose first multiscale dataset '
            f'{path!r} is missing'
        )
        raise ValueError(msg)
    return root[path.strip('/')]


def ngff_keep(
    shape: Sequence[int],
    axes: list[dict],
    name: str,
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
) -> tuple[list[int], dict[int, int]]:
    """Return the positions of the t, y, x axes of an OME-Zarr array.

    Also the index of each other axis: `channel` and `z` along c and z,
    0 along axes of length 1, which all others must have. Without axes,
    a 3-D array is taken as (t, y, x).

    >>> ngff_keep((5, 2, 1, 8, 8), [{'name': n} for n in 'tczyx'], 'a',
    ...           channel=1)
    ([0, 3, 4], {1: 1, 2: 0})

    """
    labels = [str(a.get('name', '')).lower() for a in axes]
    if not labels and len(shape) == 3:
        labels = ['t', 'y', 'x']
    given = ''.join(labels) or '?' * len(shape)
    if len(labels) != len(shape) or not {'t', 'y', 'x'} <= set(labels):
        msg = (
            f'{name} is an OME-Zarr image of shape {tuple(shape)} with axes '
            f'{given!r}; expected axes t, y and x, any others of length 1'
        )
        raise ValueError(msg)
    keep = [labels.index(a) for a in 'tyx']
    fixed: dict[int, int] = {}
    for value, label, option in ((channel, 'c', 'channel'), (z, 'z', 'z')):
        if value is None:
            continue
        axis = labels.index(label) if label in labels else None
        length = None if axis is None else int(shape[axis])
        fixed[axis] = check_plane(  # type: ignore[index]
            value, option, length, label, f'the OME-Zarr image {name}'
        )
    others = [i for i in range(len(shape)) if i not in keep + list(fixed)]
    unselected = [
        label
        for label, option in (('c', 'channel'), ('z', 'z'))
        if label in labels
        and labels.index(label) in others
        and shape[labels.index(label)] != 1
    ]
    if unselected:
        lengths = ', '.join(
            f'{a}={n}' for a, n in zip(given, shape, strict=True)
        )
        options = ' and '.join(_OPTIONS[a] for a in unselected)
        what = ' and one '.join(_PLANES[a] for a in unselected)
        msg = (
            f'{name} is an OME-Zarr image of shape {tuple(shape)} with axes '
            f'{given!r} ({lengths}); pass {options} to select one '
            f'{what}'
        )
        raise ValueError(msg)
    if keep != sorted(keep) or any(shape[i] != 1 for i in others):
        msg = (
            f'{name} is an OME-Zarr image of shape {tuple(shape)} with axes '
            f'{given!r}; expected t before y before x, other axes of '
            f'length 1'
        )
        raise ValueError(msg)
    fixed.update(dict.fromkeys(others, 0))
    return keep, fixed


_OPTIONS = {'c': 'channel=', 'z': 'z='}
_PLANES = {'c': 'channel', 'z': 'z-plane'}


def _squeeze_ngff(
    array: Any,
    root_path: pathlib.Path,
    name: str,
    *,
    channel: int | None = None,
    z: int | None = None,
) -> Any:
    """Return a (T, H, W) view of an OME-Zarr array of more dimensions.

    Arrays of stores without NGFF metadata are returned unchanged.
    """
    zarr = _zarr()
    root = zarr.open(os.fspath(root_path), mode='r')
    multiscale = None
    if not isinstance(root, zarr.Array):
        multiscale = ngff_multiscale(root.attrs)
    if multiscale is None:
        if channel is not None or z is not None:
            msg = (
                f'channel= and z= apply to OME-Zarr images, not to the '
                f'plain zarr array of {name}'
            )
            raise ValueError(msg)
        return array  # not OME-Zarr: check_array says it is not 3-D
    keep, fixed = ngff_keep(
        array.shape, ngff_axes(multiscale), name, channel=channel, z=z
    )
    if keep == [0, 1, 2] and array.ndim == 3:
        return array
    shape = tuple(int(array.shape[i]) for i in keep)
    chunks = getattr(array, 'chunks', None)
    if chunks is not None:
        chunks = tuple(int(chunks[i]) for i in keep)
    view = ArrayView(
        Planes(array, keep, fixed), shape, array.dtype, chunks=chunks
    )
    view.name = array.name
    return view


# picklable datasets ----------------------------------------------------

_classes: dict[str, type] = {}


def _hdf5_dataset(dataset: Any) -> Any:
    """Return dataset as an h5py.Dataset that pickles as its file."""
    cls = _classes.get('hdf5')
    if cls is None:
        import h5py

        class Dataset(h5py.Dataset):
            """An h5py.Dataset that pickles as (file name, dataset name)."""

            def __reduce__(self) -> Any:
                return (_reopen_hdf5, (self.file.filename, self.name))

        cls = _classes['hdf5'] = Dataset
    return cls(dataset.id)


def _reopen_hdf5(filename: str, name: str) -> Any:
    """Open dataset name of an HDF5 file again, after pickling."""
    h5 = _open_hdf5(pathlib.Path(filename))
    return _hdf5_dataset(h5[name])


def _zarr_array(array: Any, path: pathlib.Path, name: str) -> Any:
    """Return array as a zarr.Array whose read errors name the chunk."""
    cls = _classes.get('zarr')
    if cls is None:
        zarr = _zarr()

        class Array(zarr.Array):
            """A zarr.Array naming the chunk and store of a read error."""

            def __getitem__(self, selection: Any) -> Any:
                try:
                    return super().__getitem__(selection)
                except Exception as exc:
                    raise _chunk_error(self, selection, exc) from exc

            def __reduce__(self) -> Any:
                return (
                    _reopen_zarr,
                    (self._ipcf_path, self.path, self._ipcf_name),
                )

        cls = _classes['zarr'] = Array
    try:
        result = cls(array._async_array)
    except (AttributeError, TypeError):  # pragma: no cover - other zarr
        return array
    result._ipcf_path = os.fspath(path)
    result._ipcf_name = name
    return result


def _reopen_zarr(path: str, key: str, name: str) -> Any:
    """Open array key of a zarr store again, after pickling."""
    array, _ = _open_zarr(pathlib.Path(path), key or None, name)
    return _zarr_array(array, pathlib.Path(path), name)


def _chunk_error(array: Any, selection: Any, exc: Exception) -> ValueError:
    """Return a one-line ValueError naming the chunk that fails to read."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    where = f'{array._ipcf_name} array {array.path or "/"!r}'
    key = _failing_chunk(array, selection)
    if key is not None:
        msg = f'{where}: chunk {key!r} is damaged: {text}'
    else:
        msg = f'{where} could not be read: {text}'
    return ValueError(msg)


def _failing_chunk(array: Any, selection: Any) -> str | None:
    """Return the key of the first stored chunk of selection that fails."""
    try:
        key = normalize_key(selection, tuple(array.shape))
    except (IndexError, TypeError):
        return None
    grid = tuple(array.shards or array.chunks)
    ranges = []
    for k, size in zip(key, grid, strict=True):
        if isinstance(k, int):
            ranges.append(range(k // size, k // size + 1))
        else:
            r = range(k.start, k.stop, k.step)
            if not r:
                return None
            lo, hi = min(r[0], r[-1]), max(r[0], r[-1])
            ranges.append(range(lo // size, hi // size + 1))
    zarr_getitem = type(array).__mro__[1].__getitem__
    for coords in itertools.product(*ranges):
        block = tuple(
            slice(c * size, min((c + 1) * size, n))
            for c, size, n in zip(coords, grid, array.shape, strict=True)
        )
        try:
            zarr_getitem(array, block)
        except Exception:
            return array.metadata.encode_chunk_key(coords)
    return None


def check_zarr_chunks(
    array: Any, /, *, gaps: str = 'error', name: str = ''
) -> None:
    """Refuse a zarr array whose store lacks chunks it should hold.

    The keys of the chunk grid (zarr v3 or v2 layout, shards if the
    array is sharded) are compared with the store's listing of the
    array's folder; chunks never written read as the fill value, so a
    lost chunk would pass unseen.

    Parameters
    ----------
    array : zarr.Array
        An array of a local or listable store.
    gaps : {'error', 'ignore'}, optional, default: 'error'
        'ignore' logs a warning instead of raising.
    name : str, optional
        The store, for messages.

    Raises
    ------
    ValueError
        If chunks are missing and `gaps` is 'error': the message names
        the first few and how many.

    Notes
    -----
    A store whose writer skipped chunks equal to the fill value (zarr's
    default) has such gaps by design; ipcf's writers store every chunk.
    Stores that cannot be listed are not checked.

    """
    grid = tuple(array.shards or array.chunks)
    counts = [math.ceil(n / c) for n, c in zip(array.shape, grid, strict=True)]
    if not counts or min(counts) == 0:
        return
    present = _zarr_listing(array)
    if present is None:
        return
    encode = array.metadata.encode_chunk_key
    if len(present) >= math.prod(counts):
        return  # nothing can be missing (the common case: cheap)
    missing = [
        key
        for key in map(encode, itertools.product(*map(range, counts)))
        if key not in present
    ]
    if not missing:
        return
    shown = ', '.join(repr(k) for k in missing[:5])
    more = f' and {len(missing) - 5} more' if len(missing) > 5 else ''
    total = math.prod(counts)
    found = (
        f'{name} array {array.path or "/"!r} lacks {len(missing)} of its '
        f'{total} chunks ({shown}{more}), which would read as the fill '
        f'value {numpy.asarray(array.fill_value).item()!r}'
    )
    if gaps == 'error':
        msg = (
            f"{found}; restore them, or pass gaps='ignore' to read the fill "
            f'value there'
        )
        raise ValueError(msg)
    logger.warning('%s', found)


def _zarr_listing(array: Any) -> set[str] | None:
    """Return the chunk keys present under an array's folder, or None."""
    store = array.store
    prefix = array.path.strip('/')
    root = getattr(store, 'root', None)
    if isinstance(root, str | os.PathLike):
        folder = os.path.join(os.fspath(root), prefix)
        keys = set()
        for parent, _, names in os.walk(folder):
            relative = os.path.relpath(parent, folder).replace(os.sep, '/')
            for file in names:
                if file in _ZARR_METADATA and relative == '.':
                    continue
                keys.add(file if relative == '.' else f'{relative}/{file}')
        return keys
    try:
        from zarr.core.sync import collect_aiterator

        listed = collect_aiterator(store.list_prefix(prefix))
    except Exception:
        return None
    start = len(prefix) + 1 if prefix else 0
    return {
        k[start:] for k in listed if k.split('/')[-1] not in _ZARR_METADATA
    }
