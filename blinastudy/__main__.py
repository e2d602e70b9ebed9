"""``python -m blinastudy``: the command line (see :mod:`blinastudy.cli`)."""

from __future__ import annotations

if __name__ == "__main__":
    from blinastudy.cli import main

    raise SystemExit(main())
