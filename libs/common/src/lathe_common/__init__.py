"""Domain-neutral plumbing shared by every Lathe service: settings, database, events, messaging, HTTP."""
