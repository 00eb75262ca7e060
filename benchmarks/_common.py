"""Helpers shared by the benchmark scripts: tables, timings, test data.

The scripts import this module by its plain name: ``python
benchmarks/bench_*.py`` puts this folder first on ``sys.path``, and
``ipcf bench`` does the same while it imports them.
"""

import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy


def format_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str | tuple[str, str]],
) -> str:
    """Return rows as a plain-text table with aligned columns.

    Parameters
    ----------
    rows : iterable of mapping
        One mapping per table row. Missing keys and ``None`` show as
        ``'-'``.
    columns : sequence of str or (str, str)
        Keys to show, in order, each optionally paired with a title.

    Returns
    -------
    str
        Header, rule and one line per row. Numbers are right-aligned;
        floats have 3 significant digits, at least 2 decimals below 100.

    Examples
    --------
    >>> rows = [{'name': 'a', 'ms': 0.1234}, {'name': 'bc', 'ms': 12.5}]
    >>> print(format_table(rows, ['name', ('ms', 'time / ms')]))
    name  time / ms
    ----  ---------
    a          0.12
    bc        12.50

    """
    keys = []
    titles = []
    for column in columns:
        if isinstance(column, str):
            keys.append(column)
            titles.append(column)
        else:
            keys.append(column[0])
            titles.append(column[1])
    cells = []
    numeric = [True] * len(keys)
    for row in rows:
        line = []
        for i, key in enumerate(keys):
            value = row.get(key)
            line.append(_format_cell(value))
            if isinstance(value, str):
                numeric[i] = False
        cells.append(line)
    widths = [
        max([len(title)] + [len(line[i]) for line in cells])
        for i, title in enumerate(titles)
    ]

    def render(line: list[str]) -> str:
        parts = [
            text.rjust(width) if right else text.ljust(width)
            for text, width, right in zip(line, widths, numeric, strict=True)
        ]
        return '  '.join(parts).rstrip()

    lines = [
        render(titles),
        render(['-' * width for width in widths]),
        *(render(line) for line in cells),
    ]
    return '\n'.join(lines)


def _format_cell(value: Any) -> str:
    if value is None:
        return '-'
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if abs(value) >= 100:
            return f'{value:.0f}'
        return f'{value:.2f}' if abs(value) >= 0.1 else f'{value:.3g}'
    return str(value)


def best(function: Callable[[], Any], repeat: int) -> float:
    """Return the shortest of repeat wall-clock timings of function()."""
    shortest = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        shortest = min(shortest, time.perf_counter() - start)
    return shortest


def poisson_series(
    shape: tuple[int, int, int], mean: float, *, seed: int
) -> numpy.ndarray:
    """Return seeded Poisson counts as uint16, made frames at a time."""
    rng = numpy.random.default_rng(seed)
    data = numpy.empty(shape, numpy.uint16)
    step = max(1, 2**24 // max(1, shape[1] * shape[2]))
    for t in range(0, shape[0], step):
        stop = min(shape[0], t + step)
        data[t:stop] = rng.poisson(mean, (stop - t, *shape[1:]))
    return data


def timed_in_subprocess(
    code: str, what: str
) -> tuple[float, float, list[str]]:
    """Run `code` in a fresh Python: seconds, peak RSS (MB), its output.

    The output lines are those `code` printed, before the timing line.
    A failure raises RuntimeError naming `what` with the error output.
    """
    import subprocess
    import sys

    script = (
        'import resource, sys, time\n'
        't = time.perf_counter()\n'
        f'{code}'
        't = time.perf_counter() - t\n'
        'rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n'
        'print(t, rss / 1024)\n'
    )
    proc = subprocess.run(
        [sys.executable, '-c', script],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        msg = f'{what} failed: {proc.stderr.strip()}'
        raise RuntimeError(msg)
    lines = proc.stdout.strip().splitlines()
    seconds, rss = (float(v) for v in lines[-1].split())
    return seconds, rss, lines[:-1]


def machine() -> str:
    """Return a line naming the machine and the numerical libraries."""
    import numba
    import scipy

    return (
        f'{platform.machine()} {platform.processor() or platform.system()}, '
        f'{len(os.sched_getaffinity(0))} cores; Python '
        f'{platform.python_version()}, numpy {numpy.__version__}, '
        f'scipy {scipy.__version__}, numba {numba.__version__}'
    )
