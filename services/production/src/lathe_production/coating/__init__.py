"""Coating logs: a coating applied to a LOT, its thickness judged, and the LOT's coating status (seed 000)."""
