"""Travelers (the job document a LOT travels with) and unit labels."""
