"""All tables, on ``SQLModel.metadata``: one module per area, every module imported here.

Rules:
- Constraint names follow one naming convention, set before any table is defined, so
  PostgreSQL and SQLite get the same names and migrations can refer to them.
- Every module in this package is imported (discovered, sorted by name), so an area adds its
  tables by adding a module; the migration test then checks a revision creates them.
"""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import MetaData
from sqlmodel import SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")

metadata: MetaData = SQLModel.metadata

__all__ = ["NAMING_CONVENTION", "metadata"]
