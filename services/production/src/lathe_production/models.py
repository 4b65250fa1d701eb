"""Domain tables of the production service (declared on `tables.Base`)."""

from lathe_production.tables import Base, plumbing

__all__ = ["Base", "plumbing"]
