"""Write the matched samples make_matched_design_reference.R analyses in R.

The demo cohort matched 1:3 without replacement at a 0.05 SD caliper (sets of unequal
size, so MatchIt's weights differ) and 1:2 with replacement (reused controls), written
one row per patient (``match.data()``) and, with replacement, one row per use
(``get_matches()``). Run from the project root:
``PYTHONPATH=. python tests/data/make_matched_design_samples.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from blinastudy.analysis import TREATED, analyze, matched_sample
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort

DATA = Path(__file__).resolve().parent
DESIGNS = {
    "ratio3": Settings().update(matching__ratio=3, matching__caliper=0.05),
    "replace": Settings().update(matching__replace=True, matching__ratio=2),
}
COLUMNS = ["efs_months", "efs_event", "os_months", "os_event", TREATED, "pair", "weight"]


def _write(rows: pd.DataFrame, path: Path) -> None:
    out = rows[[*COLUMNS, "risk_group"]].rename(columns={TREATED: "treated"})
    for col in ("efs_event", "os_event"):
        out[col] = out[col].astype(int)
    out.insert(0, "patient_id", rows.index)
    out.to_csv(path, index=False, float_format="%.17g")


def main() -> None:
    for name, settings in DESIGNS.items():
        res = analyze(make_demo_cohort(), settings, sweep=False, replicates=0)
        assert res.match is not None
        units, uses, _ = matched_sample(res.match)
        _write(units, DATA / f"matched_{name}_units.csv")
        if uses is not None:
            _write(uses, DATA / f"matched_{name}_uses.csv")


if __name__ == "__main__":
    main()
