"""File names and safe writing: the suffix table and atomic publishing.

Every module that picks a format by suffix asks :func:`file_kind` or
:func:`store_kind`, and every writer creates its output under a hidden
temporary name beside the target and renames it when complete
(:func:`publishing`), so that a file which exists is a finished one.

"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    'SUFFIXES',
    'OutputExistsError',
    'check_target',
    'file_kind',
    'hidden_path',
    'publishing',
    'remove_path',
    'store_kind',
]

SUFFIXES: dict[str, tuple[str, ...]] = {
    'raw': ('.bin', '.raw'),
    'tiff': ('.tif', '.tiff'),
    'hdf5': ('.h5', '.hdf5', '.hdf'),
    'zarr': ('.zarr',),
    'netcdf': ('.nc',),
    'html': ('.html', '.htm'),
    'image': ('.png', '.svg', '.pdf', '.jpg', '.jpeg'),
    'mask': ('.npy',),
}
"""Format name -> file suffixes (lower case) that select it."""

_STORES = ('hdf5', 'zarr')


def file_kind(path: str | os.PathLike[str], /) -> str | None:
    """Return the format that the suffix of path selects, or None.

    >>> file_kind('data/movie.TIF'), file_kind('r.zarr'), file_kind('x.q')
    ('tiff', 'zarr', None)

    """
    suffix = Path(path).suffix.lower()
    for kind, suffixes in SUFFIXES.items():
        if suffix in suffixes:
            return kind
    return None


def store_kind(
    path: str | os.PathLike[str],
    /,
    *,
    kinds: tuple[str, ...] = _STORES,
    name: str = 'output',
) -> str:
    """Return 'hdf5' or 'zarr' (or another of kinds) for path's suffix.

    Raises
    ------
    ValueError
        If the suffix selects none of `kinds`; the message lists theirs.

    >>> store_kind('result.h5')
    'hdf5'

    """
    kind = file_kind(path)
    if kind not in kinds:
        known = ', '.join(s for k in kinds for s in SUFFIXES[k])
        msg = (
            f'{name} {os.fspath(path)!r} has an unknown suffix; '
            f'use one of {known}'
        )
        raise ValueError(msg)
    return kind


def hidden_path(path: str | os.PathLike[str], tag: str, /) -> Path:
    """Return the hidden name ``.<name>.<tag>`` beside path.

    >>> hidden_path('out/r.h5', 'partial').as_posix()
    'out/.r.h5.partial'

    """
    path = Path(path)
    return path.with_name(f'.{path.name}.{tag}')


def remove_path(path: str | os.PathLike[str], /) -> None:
    """Remove a file, link or directory tree if it exists.

    A link is removed, never what it points to.

    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


class OutputExistsError(FileExistsError):
    """An output exists and was not to be replaced.

    The message speaks Python (``overwrite=True``); the command line
    catches this class and names its own option instead.

    """

    def __init__(self, path: str | os.PathLike[str], /) -> None:
        self.path = os.fspath(path)
        super().__init__(
            f'{self.path!r} exists; pass overwrite=True to replace it'
        )


def check_target(path: Path, /, *, overwrite: bool) -> None:
    """Raise OutputExistsError if path exists and overwrite is False."""
    if not overwrite and (path.exists() or path.is_symlink()):
        raise OutputExistsError(path)


def publish(tmp: Path, path: Path, /, *, overwrite: bool) -> Path:
    """Move the finished tmp to path, replacing it if overwrite."""
    check_target(path, overwrite=overwrite)
    if tmp.is_dir() and path.exists():
        old = hidden_path(path, f'{uuid.uuid4().hex[:12]}.old')
        os.replace(path, old)
        os.replace(tmp, path)
        remove_path(old)
    else:
        if path.is_dir() and not path.is_symlink():
            remove_path(path)
        os.replace(tmp, path)
    return path


@contextlib.contextmanager
def publishing(
    path: str | os.PathLike[str],
    /,
    *,
    overwrite: bool = False,
    directory: bool = False,
    tmp: str | os.PathLike[str] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside path; publish it there on success.

    The temporary name is hidden and unique (or `tmp` when given); it is
    created as a directory when `directory` is True. On an exception it
    is removed and the exception propagates; on success it is renamed to
    `path` (an existing `path` is replaced only if `overwrite`).

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False (checked before and
        after the work).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with publishing(Path(folder) / 'a.txt') as part:
    ...         _ = part.write_text('done')
    ...     (Path(folder) / 'a.txt').read_text()
    'done'

    """
    path = Path(path)
    check_target(path, overwrite=overwrite)
    part = (
        hidden_path(path, f'{uuid.uuid4().hex[:12]}.tmp')
        if tmp is None
        else Path(tmp)
    )
    if directory:
        part.mkdir()
    try:
        yield part
        publish(part, path, overwrite=overwrite)
    except BaseException:
        with contextlib.suppress(OSError):
            remove_path(part)
        raise


def fsync_write(path: Path, write: Any, /) -> None:
    """Write a file by write(fh), flushed to disk, under its final name.

    Used for small records inside work directories; the caller renames.

    """
    with open(path, 'wb') as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())
