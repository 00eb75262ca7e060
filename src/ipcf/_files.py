"""File names and safe writing: the suffix table and atomic publishing.

Every module that picks a format by suffix asks :func:`file_kind` or
:func:`store_kind`, and every writer creates its output under a hidden
temporary name beside the target and renames it when complete
(:func:`publishing`), so that a file which exists is a finished one.

"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    'SUFFIXES',
    'OutputBusyError',
    'OutputExistsError',
    'OutputLock',
    'check_free_space',
    'check_not_input',
    'check_target',
    'disk_size',
    'file_kind',
    'format_size',
    'free_space',
    'hidden_path',
    'known_suffixes',
    'is_no_space',
    'is_zarr_store',
    'no_space_error',
    'publishing',
    'remove_path',
    'store_kind',
    'writer_kind',
]

SUFFIXES: dict[str, tuple[str, ...]] = {
    'raw': ('.bin', '.raw'),
    'tiff': ('.tif', '.tiff'),
    'hdf5': ('.h5', '.hdf5', '.hdf'),
    'zarr': ('.zarr',),
    'czi': ('.czi',),
    'lif': ('.lif',),
    'nd2': ('.nd2',),
    'lfd': ('.b64', '.z64'),
    'netcdf': ('.nc',),
    'html': ('.html', '.htm'),
    'image': ('.png', '.svg', '.pdf', '.jpg', '.jpeg'),
    'mask': ('.npy',),
}
"""Format name -> file suffixes (lower case) that select it."""

_STORES = ('hdf5', 'zarr')
_ZARR_MARKERS = ('zarr.json', '.zgroup', '.zarray')


def file_kind(path: str | os.PathLike[str], /) -> str | None:
    """Return the format that the suffix of path selects, or None.

    >>> file_kind('data/movie.TIF'), file_kind('r.zarr'), file_kind('x.q')
    ('tiff', 'zarr', None)
    >>> file_kind('cell.czi'), file_kind('run.ND2'), file_kind('s.b64')
    ('czi', 'nd2', 'lfd')

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
        msg = (
            f'{name} {os.fspath(path)!r} has an unknown suffix; '
            f'use one of {known_suffixes(kinds)}'
        )
        raise ValueError(msg)
    return kind


def known_suffixes(kinds: tuple[str, ...], /) -> str:
    """Return the suffixes of formats, for messages.

    >>> known_suffixes(('zarr', 'netcdf'))
    '.zarr, .nc'

    """
    return ', '.join(s for k in kinds for s in SUFFIXES[k])


def writer_kind(
    path: str | os.PathLike[str],
    kinds: tuple[str, ...],
    /,
    *,
    action: str,
    hint: str = '',
) -> str:
    """Return the format of path among kinds, or refuse its suffix.

    The message reads ``cannot {action} 'path': unsupported suffix
    '.x'; use {suffixes}{hint}``.

    >>> writer_kind('movie.TIF', ('tiff', 'raw'), action='write')
    'tiff'

    """
    kind = file_kind(path)
    if kind not in kinds:
        msg = (
            f'cannot {action} {os.fspath(path)!r}: unsupported suffix '
            f'{Path(path).suffix.lower()!r}; use {known_suffixes(kinds)}'
            f'{hint}'
        )
        raise ValueError(msg)
    return kind


def is_zarr_store(path: str | os.PathLike[str], /) -> bool:
    """Return whether path is a directory holding zarr metadata.

    A zarr v3 store has ``zarr.json``, a v2 store ``.zgroup`` or
    ``.zarray``, whatever the directory's suffix.

    >>> is_zarr_store('no/such/store.zarr')
    False

    """
    path = Path(path)
    return path.is_dir() and any(
        (path / marker).exists() for marker in _ZARR_MARKERS
    )


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


def check_not_input(output: str | os.PathLike[str], inputs: Any, /) -> None:
    """Raise ValueError if output is, contains or lies inside an input.

    `inputs` holds paths (a list of files counts as its files); other
    objects (arrays) are skipped. Links are resolved, so another name
    for an input is refused too.

    >>> check_not_input('out/r.h5', ['data/s.h5', None])
    >>> check_not_input('data', 'data/s.h5')
    Traceback (most recent call last):
    ...
    ValueError: the output 'data' would overwrite the input 'data/s.h5'; ...

    """
    target = Path(os.path.abspath(output)).resolve()
    for item in _paths(inputs):
        source = Path(os.path.abspath(item)).resolve()
        if (
            target == source
            or source.is_relative_to(target)
            or target.is_relative_to(source)
        ):
            msg = (
                f'the output {os.fspath(output)!r} would overwrite the '
                f'input {os.fspath(item)!r}; choose another output'
            )
            raise ValueError(msg)


def _paths(inputs: Any) -> list[Any]:
    if inputs is None:
        return []
    if isinstance(inputs, str | os.PathLike):
        return [inputs]
    if isinstance(inputs, list | tuple):
        return [p for item in inputs for p in _paths(item)]
    return []


class OutputBusyError(FileExistsError):
    """Another process is writing the same output."""

    def __init__(self, path: str | os.PathLike[str], holder: dict) -> None:
        self.path = os.fspath(path)
        self.holder = holder
        super().__init__(
            f'{self.path!r} is being written by process '
            f'{holder.get("pid")} on {holder.get("host")}'
        )


class OutputLock:
    """A lock file ``.<name>.lock`` beside an output while it is written.

    It holds the writer's process id and host. A second writer of the
    same output gets :class:`OutputBusyError`; a lock whose process no
    longer runs on this host is stale and is taken over.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with OutputLock(Path(folder) / 'r.h5') as lock:
    ...         lock.path.name
    '.r.h5.lock'

    """

    def __init__(self, output: str | os.PathLike[str], /) -> None:
        self.output = Path(output)
        self.path = hidden_path(self.output, 'lock')
        self._held = False

    def acquire(self) -> None:
        """Take the lock or raise OutputBusyError."""
        record = {'pid': os.getpid(), 'host': socket.gethostname()}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and _alive(holder):
                    raise OutputBusyError(self.output, holder) from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()  # stale: its process is gone
                continue
            with os.fdopen(fd, 'w') as fh:
                json.dump(record, fh)
            self._held = True
            return
        raise OutputBusyError(self.output, self._holder() or {})

    def release(self) -> None:
        """Remove the lock file if this lock holds it."""
        if self._held:
            self._held = False
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def _holder(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *args: Any) -> None:
        self.release()


def _alive(holder: dict) -> bool:
    """Return whether the process of a lock still runs (or may run)."""
    if holder.get('host') != socket.gethostname():
        return True  # cannot tell: assume another host's writer is alive
    try:
        os.kill(int(holder['pid']), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, KeyError, TypeError, ValueError):
        return True
    return True


# free space ------------------------------------------------------------


def format_size(nbytes: float, /) -> str:
    """Return a number of bytes as text in decimal units.

    >>> format_size(1234567), format_size(999)
    ('1.23 MB', '999 bytes')

    """
    for unit in ('bytes', 'kB', 'MB', 'GB', 'TB'):
        if abs(nbytes) < 1000 or unit == 'TB':
            return f'{nbytes:.3g} {unit}'
        nbytes /= 1000
    return f'{nbytes:.3g} PB'  # pragma: no cover


def free_space(path: str | os.PathLike[str], /) -> int | None:
    """Return the bytes free where path is or would be created, or None.

    The nearest existing folder of path is asked, so that a path whose
    parents do not exist yet is answered too; None if even that fails.

    >>> free_space('no/such/folder/file.h5') > 0
    True

    """
    folder = Path(os.path.abspath(path))
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_size(path: str | os.PathLike[str], /) -> int:
    """Return the bytes that a file or directory tree takes, 0 if absent.

    Links are not followed.

    """
    path = Path(path)
    if path.is_symlink() or not path.exists():
        return 0
    if not path.is_dir():
        return path.stat().st_size
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


def no_space_error(
    path: str | os.PathLike[str], detail: str = '', /
) -> OSError:
    """Return OSError(ENOSPC) naming path; detail follows the reason.

    >>> str(no_space_error('out.h5', 'needs 2 GB, 1 GB free'))
    "[Errno 28] no space left on device (needs 2 GB, 1 GB free): 'out.h5'"

    """
    text = 'no space left on device'
    if detail:
        text = f'{text} ({detail})'
    return OSError(errno.ENOSPC, text, os.fspath(path))


def is_no_space(exc: BaseException, /) -> bool:
    """Return whether exc, or what it was raised from, is a full disk.

    h5py reports a full disk as an OSError or a RuntimeError whose text
    holds the errno; zarr as the OSError of the write.

    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if isinstance(current, OSError | RuntimeError) and any(
            text in str(current)
            for text in ('No space left on device', 'errno = 28')
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def check_free_space(
    path: str | os.PathLike[str],
    need: int,
    /,
    *,
    what: str = 'it',
    freed: int = 0,
) -> None:
    """Raise OSError(ENOSPC) if need bytes do not fit where path goes.

    `freed` counts bytes that will be released first (a partial output
    that is discarded). An unknown free space passes.

    Raises
    ------
    OSError
        With errno ENOSPC; the message gives both sizes.

    >>> check_free_space('out.h5', 1)

    """
    free = free_space(path)
    if free is None:
        return
    free += freed
    if need > free:
        detail = (
            f'{what} needs about {format_size(need)}, only '
            f'{format_size(free)} is free there'
        )
        raise no_space_error(path, detail)
