"""Insert generated power readings into RANDOM_VALUES, the procedure's source table.

The counterpart of the seed system's ``generateRandomData.py``, with readings
that look like household meters (daily load shape, solar export, noise) and,
on request, the defects a real feed has: late rows, duplicates, invalid power.

Without ``--connection`` it runs on the embedded engine (no account): it runs
``setup.sql`` on an in-memory DuckDB database, inserts, and prints what the
table holds. With
``--connection NAME`` it inserts into a real account through the connection of
that name in ``connections.toml``; run ``procedure/sql/setup.sql`` (or
``energy-integral deploy``) there first, so the table and its stream exist.

    python examples/generate_random_data.py --meters 5 --minutes 10
    python examples/generate_random_data.py --connection dev --late 0.02 --duplicates 0.01
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import energy_integral as ei
from energy_integral_snowflake.generator import insert_readings
from energy_integral_snowflake.schema import DEFAULT_NAMES, ObjectNames, quote_identifier

#: Readings per meter per minute, as the demo sends them.
READINGS_PER_MINUTE = 6


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meters", type=int, default=5, help="number of meters (default 5)")
    parser.add_argument("--minutes", type=int, default=10, help="minutes of readings (default 10)")
    parser.add_argument("--start", default="2026-01-01T07:00", help="UTC time of the first reading")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same readings")
    parser.add_argument("--late", type=float, default=0.0, help="share of late rows")
    parser.add_argument("--duplicates", type=float, default=0.0, help="share of duplicated rows")
    parser.add_argument("--invalid", type=float, default=0.0, help="share of NaN/inf power")
    parser.add_argument(
        "--connection", help="connections.toml entry; the embedded engine when omitted"
    )
    return parser.parse_args(argv)


def generate(args: argparse.Namespace) -> ei.Readings:
    """The readings the arguments ask for, in delivery order."""
    return ei.generate_readings(
        args.meters,
        start=args.start,
        periods=args.minutes * READINGS_PER_MINUTE,
        cadence=f"{60 // READINGS_PER_MINUTE}s",
        seed=args.seed,
        late_fraction=args.late,
        duplicate_fraction=args.duplicates,
        invalid_fraction=args.invalid,
    )


def open_session(connection: str | None, names: ObjectNames = DEFAULT_NAMES) -> Any:
    """A real session for ``connection``, or an embedded pipeline set up by setup.sql."""
    if connection is not None:
        from energy_integral_snowflake.deploy import connect

        return connect(connection)
    from energy_integral_snowflake import embedded

    session = embedded.connect()
    embedded.setup(session, names)  # what setup.sql does on an account
    return session


def main(argv: Sequence[str] | None = None, session: Any = None) -> int:
    """Insert the readings; ``session`` replaces the one ``--connection`` would open."""
    args = parse_args(argv)
    readings = generate(args)
    session = open_session(args.connection) if session is None else session
    inserted = insert_readings(session, readings)
    source = quote_identifier(DEFAULT_NAMES.source)
    held = session.sql(f"SELECT COUNT(*) FROM {source}").collect()[0][0]
    print(f"inserted {inserted} rows into {DEFAULT_NAMES.source}; it holds {held}")
    newest = session.sql(f'SELECT * FROM {source} ORDER BY "ID" DESC LIMIT 5').to_pandas()
    print(newest.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
