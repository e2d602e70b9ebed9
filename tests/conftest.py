"""Test-wide settings: hypothesis runs derandomised, so every run checks the same examples."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("blinastudy", derandomize=True, print_blob=True)
settings.load_profile("blinastudy")
