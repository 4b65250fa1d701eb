"""Lathe auth service: Accounts, roles, tokens and signing keys."""
