"""Peak memory of ``energy-integral integrate`` on a large Parquet file, against one-shot.

Writes a Parquet file of synthetic readings (20 million rows by default, 1,000
meters), then runs, each in its own process so that peak resident memory
(``ru_maxrss`` from ``os.wait4``) belongs to that run alone:

* the CLI, reading in chunks of ``--chunk-rows`` and carrying the states,
  on a tenth of the file and on the whole file — bounded memory means the two
  peaks are about equal although the second file is ten times larger;
* a one-shot run that loads the whole file and calls ``integrate_meters`` once.

It checks that the per-meter totals of the chunked run equal the one-shot ones
(to 1e-9 relative) and prints rows, seconds and peak memory of every run.

Run by hand: ``python benchmarks/bench_cli_memory.py [--rows 20000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_ROWS_PER_PIECE = 1_000_000


def write_file(path: Path, rows: int, meters: int) -> None:
    """Readings of ``meters`` meters, written piece by piece (meters disjoint between pieces)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from energy_integral import generate_readings

    pieces = max(rows // _ROWS_PER_PIECE, 1)
    per_piece = max(meters // pieces, 1)
    periods = rows // (pieces * per_piece)
    writer = None
    for i in range(pieces):
        r = generate_readings(
            per_piece, periods=periods, cadence="15s", seed=i, invalid_fraction=0.001,
            duplicate_fraction=0.001, meter_prefix=f"m{i:04d}-",
        )  # fmt: skip
        table = pa.Table.from_pandas(r.to_pandas(), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()


def _child_one_shot(path: str, out: str) -> None:
    import pyarrow.parquet as pq

    import energy_integral as ei

    table = pq.read_table(path)
    res = ei.integrate_meters(
        table.column("METER_ID").to_numpy(),
        table.column("TIMESTAMP").to_numpy(),
        table.column("KW").to_numpy(),
    )
    totals = {str(m): s.energy for m, s in res.states.items()}
    Path(out).write_text(json.dumps({"totals": totals, "rejected": len(res.rejected)}))


def _child_cli(path: str, out: str, chunk_rows: str) -> None:
    from energy_integral.cli import main

    sys.argv = ["energy-integral", "integrate", path, "--out", out, "--chunk-rows", chunk_rows]
    try:
        main()
    except SystemExit as exc:
        if exc.code:
            raise


def _run(*args: str) -> tuple[float, float, str]:
    """Run this script as a child; return (seconds, peak RSS in MiB, its stderr)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen([sys.executable, __file__, *args], stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        err.seek(0)
        text = err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"child {args} failed:\n{text}")
    return seconds, usage.ru_maxrss / 1024, text  # ru_maxrss is KiB on Linux


def _report(name: str, rows: int, seconds: float, peak: float) -> None:
    print(f"{name:22s} {rows:>12,} rows  {seconds:7.1f} s  peak RSS {peak:8.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--meters", type=int, default=1_000)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="ei-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    small, large = workdir / "small.parquet", workdir / "large.parquet"
    start = time.perf_counter()
    write_file(small, args.rows // 10, args.meters // 10)
    write_file(large, args.rows, args.meters)
    print(f"wrote {args.rows:,} + {args.rows // 10:,} rows in {time.perf_counter() - start:.0f} s")

    import pyarrow.parquet as pq

    one_out = str(workdir / "one.json")
    for name, path in (("chunked, 1/10 file", small), ("chunked, whole file", large)):
        rows = pq.ParquetFile(path).metadata.num_rows
        cli_out, chunk = str(workdir / "cli.csv"), str(args.chunk_rows)
        _report(name, rows, *_run("--child-cli", str(path), cli_out, chunk)[:2])
    rows = pq.ParquetFile(large).metadata.num_rows
    _report("one-shot, whole file", rows, *_run("--child-one-shot", str(large), one_out)[:2])

    import pandas as pd

    chunked = pd.read_csv(workdir / "cli.csv").set_index("meter")["energy_kWh"]
    one = json.loads((workdir / "one.json").read_text())
    expected = pd.Series(one["totals"]).reindex(chunked.index)
    worst = float(np.max(np.abs(chunked - expected) / np.maximum(np.abs(expected), 1e-12)))
    print(f"meters {len(chunked):,}; worst relative difference of totals {worst:.2e}")
    print(f"total chunked {chunked.sum():,.6f} kWh, one-shot {expected.sum():,.6f} kWh")
    assert worst < 1e-9, "chunked totals differ from one-shot"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-one-shot":
        _child_one_shot(*sys.argv[2:4])
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-cli":
        _child_cli(*sys.argv[2:5])
    else:
        main()
