"""Component genealogy: which units and LOTs went into which, traced both ways."""
