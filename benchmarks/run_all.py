"""Run every CPU benchmark and print its table (``make bench``).

    python benchmarks/run_all.py

The GPU benchmark (bench_gpu.py) runs too; it says so and skips itself
where there is no GPU. Benchmarks are not tests: they print tables whose
numbers go into BENCHMARKS.md with the machine and the date.
"""

import subprocess
import sys
from pathlib import Path

SCRIPTS = [
    ['bench_correlate.py', '--size', '16384'],
    ['bench_engine.py', '--shape', '16384,64,64', '--stages'],
    ['bench_gpu.py'],
]


def main():
    here = Path(__file__).parent
    status = 0
    for script, *args in SCRIPTS:
        print(f'\n== {script} {" ".join(args)}', flush=True)
        proc = subprocess.run([sys.executable, str(here / script), *args])
        status = status or proc.returncode
    return status


if __name__ == '__main__':
    sys.exit(main())
