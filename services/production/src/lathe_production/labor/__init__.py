"""Labor entries: who spent how long on which process for a LOT or unit (seed 000's labor logs)."""
