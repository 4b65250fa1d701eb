"""Product models and their routings: the ordered process steps each product goes through."""
