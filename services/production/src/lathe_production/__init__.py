"""Lathe production service: Processes, product models, LOTs, serials, process data and genealogy."""
