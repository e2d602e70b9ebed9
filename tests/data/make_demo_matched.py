"""Write tests/data/demo_matched.csv: the demo cohort's matched sample under the default
settings, for make_demo_reference.R to analyse in R.

Run from the project root: ``PYTHONPATH=. python tests/data/make_demo_matched.py``.
"""

from __future__ import annotations

from pathlib import Path

from blinastudy.analysis import TREATED, analyze
from blinastudy.analysis.settings import Settings
from blinastudy.data.demo import make_demo_cohort

OUT = Path(__file__).resolve().parent / "demo_matched.csv"
SHORT = {
    "mrd_group": {"MRD < 0.1%": "low", "MRD ≥ 0.1%": "high"},
    "age_band": {"< 10 y": "young", "≥ 10 y": "older"},
    "wbc_band": {"WBC < 50": "low", "WBC ≥ 50": "high"},
}


def main() -> None:
    res = analyze(make_demo_cohort(), Settings(), sweep=False, replicates=0)
    assert res.match is not None
    m = res.match.matched
    out = m[
        [
            "arm",
            TREATED,
            "pair",
            "efs_months",
            "efs_event",
            "os_months",
            "os_event",
            "risk_group",
            "mrd_group",
            "age_band",
            "wbc_band",
            "sex",
            "genetic_subtype",
            "blina_start_months",
        ]
    ].rename(columns={TREATED: "treated"})
    for col, short in SHORT.items():
        out[col] = out[col].map(short)
    for col in ("efs_event", "os_event"):
        out[col] = out[col].astype(int)
    out.insert(0, "patient_id", m.index)
    out.to_csv(OUT, index=False)


if __name__ == "__main__":
    main()
