"""Lathe API gateway: the only public HTTP entry. Verifies tokens, routes by path prefix, limits rates."""
