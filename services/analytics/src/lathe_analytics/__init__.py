"""Lathe analytics service: Yield, performance and WIP analytics, and the audit trail."""
