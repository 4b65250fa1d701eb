"""`make bench`: measurements against the running local stack, one JSON file each under .run/bench/."""
