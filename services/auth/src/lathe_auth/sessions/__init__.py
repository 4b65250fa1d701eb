"""Sign-in sessions: login, access tokens, rotating refresh tokens, logout."""
