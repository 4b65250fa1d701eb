"""Domain tables of the orders service (declared on `tables.Base`)."""

from lathe_orders.tables import Base, plumbing

__all__ = ["Base", "plumbing"]
