"""Generate the next Alembic revision from the table definitions.

Usage: .venv/bin/python scripts/autogen_migration.py 0003_rollouts "rollout tables"
Migrates a scratch SQLite database to the current head, then autogenerates the difference
between it and ``storage.models`` metadata. Review the file it writes before committing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from storage.db import make_engine
from storage.migrate import alembic_config, upgrade


def main(rev_id: str, message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    for path in (Path(__file__).resolve().parents[1] / "storage/migrations/versions").glob(
        f"{rev_id}_*.py"
    ):
        text = path.read_text().replace("sqlmodel.sql.sqltypes.AutoString()", "sa.String()")
        path.rename(path.with_name(f"{rev_id}.py"))
        path.with_name(f"{rev_id}.py").write_text(text)
        print(f"wrote {path.with_name(f'{rev_id}.py')}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
