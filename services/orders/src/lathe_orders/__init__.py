"""Lathe orders service: Purchase, sales and work orders."""
