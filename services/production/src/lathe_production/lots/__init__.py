"""LOTs and the serial-numbered units in them."""
