"""Baseline characteristics by arm ("Table 1"), before or after matching.

Continuous variables: median [Q1, Q3]; categorical variables: n (%) per level;
missing values counted, never dropped.

The standardised mean difference (SMD) here follows R's ``tableone``
(``print(CreateTableOne(...), smd = TRUE)``), computed within the sample being
described (full or matched; every row counts once, matching weights are not
used):

* numeric variables with more than two distinct values: difference in means
  over the pooled SD of the two arms, ``(m1 - m0) / sqrt((v1 + v0) / 2)``;
* categorical variables, and numeric ones with at most two distinct values
  (coded 0/1, 1/2, ...): one SMD per variable, the multi-level SMD of Yang &
  Dalton (2012), whatever the coding.

This is **not** the SMD of the balance table (:mod:`blinastudy.stats.balance`), which
follows ``MatchIt``'s ``summary()`` for the ATT: one SMD per covariate or
category level, divided by the SD of the treated group in the full (unmatched)
sample before and after matching, with means after matching weighted by the
matching weights, and a 1/2-coded covariate treated as continuous. The two
agree only by coincidence; pages should label them "SMD (tableone)" and "SMD
(MatchIt, ATT)".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from blinastudy.core.errors import InputError
from blinastudy.core.formatting import fmt_value
from blinastudy.core.validate import as_treatment, require_columns, require_frame

__all__ = ["BASELINE_COLUMNS", "baseline_table", "categorical_smd", "continuous_smd"]

BASELINE_COLUMNS = [
    "variable",
    "level",
    "blinatumomab",
    "chemotherapy",
    "smd",
    "missing_blinatumomab",
    "missing_chemotherapy",
]
FloatArray = npt.NDArray[np.float64]


def continuous_smd(treated: FloatArray, control: FloatArray) -> float:
    """SMD with the pooled SD, ``(m1 - m0) / sqrt((v1 + v0) / 2)`` (tableone).

    Examples
    --------
    >>> import numpy as np
    >>> round(continuous_smd(np.array([1.0, 3.0]), np.array([0.0, 2.0])), 4)
    0.7071
    """
    if treated.size < 2 or control.size < 2:
        return float("nan")
    pooled = np.sqrt((np.var(treated, ddof=1) + np.var(control, ddof=1)) / 2)
    diff = float(np.mean(treated) - np.mean(control))
    return diff / float(pooled) if pooled > 0 else (0.0 if diff == 0 else float("nan"))


def categorical_smd(treated: pd.Series, control: pd.Series) -> float:
    """Multi-level SMD of Yang & Dalton (2012), as ``tableone``'s ``ExtractSmd``.

    Examples
    --------
    >>> import pandas as pd
    >>> round(categorical_smd(pd.Series(list("aab")), pd.Series(list("abb"))), 4)
    0.7071
    """
    tv = np.asarray(treated.astype(str))
    cv = np.asarray(control.astype(str))
    levels = np.unique(np.concatenate([tv, cv]))
    if levels.size < 2 or tv.size == 0 or cv.size == 0:
        return float("nan") if levels.size >= 2 else 0.0
    p1 = (np.bincount(np.searchsorted(levels, tv), minlength=levels.size) / tv.size)[1:]
    p0 = (np.bincount(np.searchsorted(levels, cv), minlength=levels.size) / cv.size)[1:]
    diff = p1 - p0

    def cov(p: FloatArray) -> FloatArray:
        return np.asarray(np.diag(p) - np.outer(p, p), dtype=np.float64)

    s = (cov(p1) + cov(p0)) / 2
    value = float(diff @ np.linalg.pinv(s) @ diff)
    return float(np.sqrt(max(value, 0.0)))


def baseline_table(frame: pd.DataFrame, treatment: str, variables: Sequence[str]) -> pd.DataFrame:
    """One row per continuous variable or categorical level, with both arms side by side.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per patient (full or matched sample).
    treatment : str
        Arm column (0/1, booleans or ``blinatumomab``/``chemotherapy``).
    variables : sequence of str
        Columns to describe.

    Returns
    -------
    pandas.DataFrame
        Columns ``variable, level, blinatumomab, chemotherapy, smd,
        missing_blinatumomab, missing_chemotherapy``; the first row is ``n``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"arm": ["blinatumomab", "chemotherapy"] * 2, "age": [3, 5, 7, 9]})
    >>> baseline_table(f, "arm", ["age"])["blinatumomab"].tolist()
    ['2', '5.0 [4.0, 6.0]']
    """
    frame = require_frame(frame)
    require_columns(frame, [treatment, *variables])
    t = as_treatment(frame[treatment], name=f"treatment column {treatment!r}") == 1
    rows: list[dict[str, object]] = [
        {
            "variable": "n",
            "level": "",
            "blinatumomab": str(int(t.sum())),
            "chemotherapy": str(int((~t).sum())),
            "smd": np.nan,
            "missing_blinatumomab": 0,
            "missing_chemotherapy": 0,
        }
    ]
    for var in variables:
        ser = frame[var]
        values = ser.to_numpy()
        missing = np.asarray(pd.isna(values), dtype=bool)
        miss_t = int((missing & t).sum())
        miss_c = int((missing & ~t).sum())
        numeric = pd.api.types.is_numeric_dtype(ser) and not pd.api.types.is_bool_dtype(ser)
        if numeric and np.unique(values[~missing]).size > 2:
            vt = values[t & ~missing].astype(float)
            vc = values[~t & ~missing].astype(float)

            def summary(v: FloatArray) -> str:
                if v.size == 0:
                    return "-"
                q1, med, q3 = np.percentile(v, [25, 50, 75])
                return f"{fmt_value(med)} [{fmt_value(q1)}, {fmt_value(q3)}]"

            rows.append(
                {
                    "variable": var,
                    "level": "median [IQR]",
                    "blinatumomab": summary(vt),
                    "chemotherapy": summary(vc),
                    "smd": continuous_smd(vt, vc),
                    "missing_blinatumomab": miss_t,
                    "missing_chemotherapy": miss_c,
                }
            )
            continue
        st = pd.Series(values[t & ~missing].astype(str))
        sc = pd.Series(values[~t & ~missing].astype(str))
        smd = categorical_smd(st, sc)
        if isinstance(ser.dtype, pd.CategoricalDtype):
            levels = [str(lv) for lv in ser.cat.categories]
        else:
            levels = sorted(set(st) | set(sc))
        lv_t, n_t = np.unique(st.to_numpy(), return_counts=True)
        lv_c, n_c = np.unique(sc.to_numpy(), return_counts=True)
        count_t = dict(zip(lv_t.tolist(), n_t.tolist(), strict=True))
        count_c = dict(zip(lv_c.tolist(), n_c.tolist(), strict=True))
        for i, lv in enumerate(levels):
            nt, nc = int(count_t.get(lv, 0)), int(count_c.get(lv, 0))
            rows.append(
                {
                    "variable": var,
                    "level": lv,
                    "blinatumomab": f"{nt} ({100 * nt / max(st.size, 1):.1f}%)",
                    "chemotherapy": f"{nc} ({100 * nc / max(sc.size, 1):.1f}%)",
                    "smd": smd if i == 0 else np.nan,
                    "missing_blinatumomab": miss_t if i == 0 else 0,
                    "missing_chemotherapy": miss_c if i == 0 else 0,
                }
            )
    if not variables:
        raise InputError("no variables given for the baseline table")
    return pd.DataFrame(rows, columns=BASELINE_COLUMNS)
