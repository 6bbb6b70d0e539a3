"""Regenerate the initial migration from the table models (before the first release only).

python -m server.migrations.regen
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from server.db import MIGRATIONS, alembic_config


def main() -> None:
    versions = MIGRATIONS / "versions"
    for old in versions.glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(cfg, message="initial", autogenerate=True, rev_id="0001")
    print("wrote", next(versions.glob("0001_*.py")))


if __name__ == "__main__":
    main()
