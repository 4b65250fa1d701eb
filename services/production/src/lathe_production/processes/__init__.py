"""Process definitions: the steps products go through, with their quality criteria."""
