"""Step executions: what happened to a unit or a LOT at one process, judged against spec limits."""
