"""Python source that reproduces an analysis from its saved settings.

:func:`show_code` writes a short, runnable script: it loads the cohort, rebuilds
the :class:`~blinastudy.analysis.settings.Settings` from their JSON, runs
:func:`~blinastudy.analysis.analyze` and prints the key numbers, then repeats the
selected endpoint's analysis with the lower-level calls
(:func:`~blinastudy.analysis.prepare_cohort`, :func:`~blinastudy.stats.matching.match`,
:func:`~blinastudy.stats.matching.balance`, :func:`~blinastudy.analysis.matched_sample`,
:func:`~blinastudy.stats.survival.cox_fit` robust by matched set and weighted by
MatchIt's weights when they differ, :func:`~blinastudy.analysis.austin_cafri` when
controls are reused, :func:`~blinastudy.stats.survival.logrank` stratified by matched set
when the matching was without replacement, :func:`~blinastudy.stats.survival.kaplan_meier`,
:func:`~blinastudy.stats.subgroups.forest`, :func:`~blinastudy.stats.survival.ph_test`, and
blinatumomab as a time-dependent exposure with :func:`~blinastudy.stats.survival.split_at`,
``cox_fit(start=...)`` and the Mantel-Byar test) with the actual option values written
out, and checks that both routes give the same numbers. Weighted analyses rebuild the
weights with :func:`~blinastudy.stats.weighting.propensity_weights`; on a competing-risks
endpoint the step-by-step part repeats the EFS comparison and the cause-specific forest.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from blinastudy import __version__
from blinastudy.analysis.settings import Settings

if TYPE_CHECKING:
    pass

__all__ = ["show_code"]

_TIME = {"efs": ("efs_months", "efs_event"), "os": ("os_months", "os_event")}
_WIDTH = 88


def _lit(value: object) -> str:
    """A Python literal for a settings value, with double-quoted strings."""
    if value is None or isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    raise TypeError(f"no literal for {type(value).__name__}")


def _assign(name: str, values: Sequence[object]) -> list[str]:
    """``name = [...]``, one item per line when it does not fit on one."""
    one = f"{name} = {_lit(list(values))}"
    if len(one) <= _WIDTH:
        return [one]
    return [f"{name} = [", *[f"    {_lit(v)}," for v in values], "]"]


def _settings_literal(settings: Settings) -> list[str]:
    text = settings.to_json()
    if "\\" in text or '"""' in text:
        return [f"SETTINGS_JSON = {text!r}"]
    return ['SETTINGS_JSON = """', *text.splitlines(), '"""']


def _cohort_lines(
    settings: Settings,
    cohort_path: str | None,
    pool_path: str | None,
    mapping_paths: Sequence[str | None],
) -> tuple[list[str], list[str]]:
    """Import lines and statements that build ``cohort``."""
    if cohort_path is None:
        return (
            ["from blinastudy.data.demo import make_demo_cohort"],
            ["cohort = make_demo_cohort()  # Synthetic demo data (no real patient)"],
        )
    imports: list[str] = []
    lines: list[str] = []
    names: list[str] = []
    n_files = 1 if pool_path is None else 2
    paths = list(mapping_paths) + [None] * (2 - len(mapping_paths))
    uses_mapping = False
    for i in range(n_files):
        var = "mapping" if n_files == 1 else ("mapping_treated", "mapping_pool")[i]
        if paths[i] is not None:
            lines.append(
                f'{var} = Mapping.from_json(Path({_lit(paths[i])}).read_text(encoding="utf-8"))'
            )
            uses_mapping = True
        elif i < len(settings.mappings):
            lines.append(f"{var} = Mapping.from_dict(settings.mappings[{i}])")
            uses_mapping = True
        else:
            lines.append(f"{var} = None  # the file uses the canonical column names")
        names.append(var)
    if uses_mapping:
        imports.append("from blinastudy.data.mapping import Mapping")
    if any(p is not None for p in paths[:n_files]):
        imports.insert(0, "from pathlib import Path")
    if pool_path is None:
        imports.append("from blinastudy.data.cohort import load_cohort")
        lines.append(f"cohort = load_cohort({_lit(cohort_path)}, {names[0]})")
    else:
        imports.append("from blinastudy.data.cohort import combine_cohorts")
        lines.append(
            f"cohort = combine_cohorts({_lit(cohort_path)}, {_lit(pool_path)}, "
            f"mappings=({names[0]}, {names[1]}))"
        )
    return imports, lines


def show_code(
    settings: Settings,
    *,
    cohort_path: str | None = None,
    pool_path: str | None = None,
    mapping_paths: Sequence[str | None] = (),
    cohort_hash: str | None = None,
    sweep: bool = True,
) -> str:
    """Python source reproducing the analysis ``settings`` define.

    Parameters
    ----------
    settings : Settings
        The saved settings; embedded as JSON in the script.
    cohort_path : str, optional
        The cohort file (the treated cohort when ``pool_path`` is given). Default:
        the bundled synthetic demo cohort (``make_demo_cohort()``).
    pool_path : str, optional
        A second file with the historical control pool (``combine_cohorts``).
    mapping_paths : sequence of str or None, optional
        Saved mapping JSON for each file; otherwise ``settings.mappings[i]`` when
        present, else none (canonical column names).
    cohort_hash : str, optional
        The SHA-256 of the cohort the settings were used with; the script warns
        when the cohort it loads differs.
    sweep : bool, default True
        Whether the script's :func:`~blinastudy.analysis.analyze` call includes
        the caliper sweep.

    Returns
    -------
    str
        The script. Executed, it defines ``result`` (the
        :class:`~blinastudy.analysis.AnalysisResult`), ``numbers``
        (``result.numbers()``), ``hr``, ``test``, ``km`` and ``subgroup_table``
        (the step-by-step results), and prints the key numbers.

    Examples
    --------
    >>> from blinastudy.analysis.settings import Settings
    >>> code = show_code(Settings().update(matching__caliper=0.1))
    >>> "caliper=0.1," in code and 'cluster="pair"' in code
    True
    >>> compile(code, "reproduce.py", "exec") is not None
    True
    """
    m = settings.matching
    # a competing-risks endpoint shows its cumulative incidence; the step-by-step part
    # repeats the EFS comparison, as AnalysisResult.endpoint does
    key = settings.endpoint if settings.endpoint in _TIME else "efs"
    competing = settings.endpoint not in _TIME
    tcol, ecol = _TIME[key]
    cohort_imports, cohort_lines = _cohort_lines(
        settings, cohort_path, pool_path, list(mapping_paths)
    )
    matched = settings.population == "matched"
    weighted = settings.population == "weighted"
    reused = matched and m.replace
    conf = settings.conf_level
    out: list[str] = [
        f'"""Reproduce a BlinaStudy {__version__} analysis from its saved settings.',
        "",
        "Runs the whole analysis with analyze(), then the selected endpoint step by step",
        "with the lower-level functions, and checks that both give the same numbers.",
        '"""',
        "",
        "import math",
        *[line for line in cohort_imports if line.startswith("from pathlib")],
        "",
        *sorted(
            [
                "from blinastudy.analysis import (\n"
                "    analyze,\n"
                "    applicable_eligibility,\n"
                "    austin_cafri,\n"
                "    cause_codes,\n"
                "    cohort_hash,\n"
                "    matched_sample,\n"
                "    prepare_cohort,\n"
                ")",
                *[line for line in cohort_imports if not line.startswith("from pathlib")],
                "from blinastudy.data.eligibility import apply_eligibility",
                "from blinastudy.core.errors import InputError",
                "from blinastudy.stats.matching import balance, match",
                "from blinastudy.analysis.settings import Settings",
                "from blinastudy.stats.subgroups import forest",
                "from blinastudy.stats.survival import (\n"
                "    cox_fit,\n"
                "    kaplan_meier,\n"
                "    logrank,\n"
                "    ph_test,\n"
                "    split_at,\n"
                "    survival_at,\n"
                ")",
                "from blinastudy.stats.weighting import propensity_weights",
            ]
        ),
        "",
        "",
        "def shown(value):",
        '    return "not estimable" if value is None else f"{value:.4g}"',
        "",
        "",
        "# The saved settings (Settings.to_json()).",
        *_settings_literal(settings),
        "settings = Settings.from_json(SETTINGS_JSON)",
        "",
        "# 1. The cohort",
        *cohort_lines,
        'print("cohort SHA-256:", cohort_hash(cohort))',
    ]
    if cohort_hash is not None:
        out += [
            f"EXPECTED_HASH = {_lit(cohort_hash)}",
            "if cohort_hash(cohort) != EXPECTED_HASH:",
            '    print("warning: this is not the cohort the settings were saved with")',
        ]
    out += [
        "",
        "# 2. Everything at once, as the app computes it",
        f"result = analyze(cohort, settings, sweep={sweep!r})",
        "numbers = result.numbers()",
        "for warning in result.warnings:",
        '    print("warning:", warning)',
        'summary = numbers["matching"]',
        "print(",
        "    f\"matched {summary['n_matched_treated']} of {summary['n_treated']} treated to \"",
        "    f\"{summary['n_matched_controls']} controls; caliper width {summary['caliper_width']}\"",
        ")",
        'for key, ep in numbers["endpoints"].items():',
        '    for row in ep["hazard_ratio"]:',
        "        print(",
        "            f\"{key}: HR {shown(row['hr'])} ({shown(row['ci_lower'])} to \"",
        "            f\"{shown(row['ci_upper'])}), {row['method']}; log-rank p {ep['logrank_p']}\"",
        "        )",
        '    for row in ep["at_horizon"]:',
        "        print(f\"  {row['arm']}: survival at {row['time']:g} months {row['survival']}\")",
        "",
        f"# 3. The same {settings.endpoint.upper()} analysis step by step",
        "frame = prepare_cohort(cohort, settings)  # indexed by patient_id; adds _treated, bands",
        "# who may enter the comparison (criteria whose column the cohort lacks are skipped)",
        "criteria, skipped = applicable_eligibility(settings.eligibility, list(frame.columns))",
        "eligible, flow = apply_eligibility(frame, criteria)",
        "frame = frame[eligible.to_numpy()]",
        'outcome = ["efs_months", "efs_event", "os_months", "os_event"]',
        "frame = frame.dropna(subset=outcome)  # patients without an outcome are excluded",
        *_assign("covariates", m.covariates),
        *_assign("exact", m.exact),
        "complete = frame.dropna(subset=covariates + exact)  # every matching covariate known",
        "matching = match(",
        "    complete,",
        '    "_treated",',
        "    covariates,",
        f"    caliper={m.caliper!r},",
        f"    scale={_lit(m.scale)},",
        f"    ratio={m.ratio!r},",
        f"    replace={m.replace!r},",
        f"    order={_lit(m.order)},",
        "    exact=exact or None,",
        f"    random_state={m.random_state!r},",
        ")",
        'smd = balance(complete, "_treated", covariates, matched=matching)',
        'print("max |SMD| after matching (MatchIt summary(), ATT):", smd["smd_after"].abs().max())',
    ]
    if matched:
        out += [
            "# one row per matched patient (MatchIt's match.data(): weight, matched set in 'pair');",
            "# with reused controls also one row per use (get_matches()) for the hazard ratio",
            "sample, uses, design = matched_sample(matching)",
            "weights = design.weights  # None when all matching weights are equal",
        ]
    elif weighted:
        ws = settings.weighting
        out += [
            "# propensity-score weights of the matching pool (WeightIt's weightit(method = glm))",
            "sample = complete.assign(",
            "    weight=propensity_weights(",
            '        complete, "_treated", covariates, '
            f"estimand={_lit(ws.estimand)}, stabilize={ws.stabilize!r}, trim={_lit(ws.trim)}",
            "    ).to_numpy()",
            ")",
            'uses, weights = None, "weight"',
        ]
    else:
        out += ["sample, uses, weights = frame, None, None  # all patients, unmatched"]
    steps: list[str] = []
    if settings.subgroup_filter is not None:
        var, level = settings.subgroup_filter
        steps.append(f"    rows = rows[rows[{_lit(var)}].astype(str) == {_lit(level)}]")
    if settings.origin == "landmark":
        steps += [
            f"    landmark = {settings.landmark_months!r}  # months after diagnosis",
            f'    before = rows["{tcol}"] <= landmark',
            '    not_started = (rows["_treated"] == 1) & (',
            '        rows["blina_start_months"].isna() | (rows["blina_start_months"] > landmark)',
            "    )  # blinatumomab not started by the landmark",
            "    rows = rows[~(before | not_started)].copy()",
            f'    rows["{tcol}"] = rows["{tcol}"] - landmark  # time from the landmark',
        ]
    if steps:
        out += [
            "",
            "",
            "def analysed(rows):",
            "    if rows is None:",
            "        return None",
            *steps,
            "    return rows",
            "",
            "",
            "population, population_uses = sample, uses",
            "sample, uses = analysed(sample), analysed(uses)",
        ]
    else:
        out += ["population, population_uses = sample, uses"]
    rows_var = "uses" if reused else "sample"

    def col(name: str) -> str:
        return f'{rows_var}["{name}"]'

    wexpr = f"{rows_var}[weights]" if matched or weighted else "None"
    out += [
        f"w = None if weights is None else {wexpr}",
        "if w is not None and w.nunique() == 1:",
        "    w = None  # equal weights (1:1 with reuse): unweighted",
        "fit = cox_fit(",
        f"    {col('_treated')},",
        f"    {col(tcol)},",
        f"    {col(ecol)},",
        '    names=["_treated"],',
        "    weights=w,",
        f"    cluster={col('pair') if matched else 'None'},"
        + ("  # robust, by matched set" if matched else ""),
        f"    conf_level={conf!r},",
        ")",
    ]
    if reused:
        out += [
            'if fit.method == "ml-robust":  # reused controls: cluster on set and patient',
            "    fit = austin_cafri(",
            f"        fit, {col('_treated')}, {col(tcol)}, {col(ecol)}, w, {col('pair')},",
            f"        uses.index, {conf!r}",
            "    )",
        ]
    stratified = matched and not m.replace and settings.logrank != "plain"
    out += [
        "hr = fit.table()",
        f'plain_test = logrank(sample["{tcol}"], sample["{ecol}"], sample["_treated"])',
        *(
            [
                "# log-rank stratified by matched set: survdiff(Surv(t, e) ~ arm + strata(pair))",
                f'test = logrank(sample["{tcol}"], sample["{ecol}"], sample["_treated"], '
                'strata=sample["pair"])',
            ]
            if stratified
            else ["test = plain_test"]
        ),
        'print(hr.to_string(), "\\nlog-rank p:", test.p_value)',
        "km = {}",
        'for arm in ("blinatumomab", "chemotherapy"):',
        '    rows = sample[sample["arm"] == arm]',
        "    km[arm] = kaplan_meier(",
        f'        rows["{tcol}"],',
        f'        rows["{ecol}"],',
        "        weights=None if weights is None else rows[weights],",
        f"        conf_level={conf!r},",
        f"        conf_type={_lit(settings.conf_type)},",
        "    )",
        f"    at = survival_at(km[arm], {settings.horizon_months!r})",
        '    print(f"{arm}: {at.survival:.4f} ({at.ci_lower:.4f} to {at.ci_upper:.4f})")',
        *_assign("wanted", settings.subgroups),
        "subgroups = [v for v in wanted if v in population.columns]",
        *(
            [
                f"# subgroups on the cause-specific hazard of {settings.endpoint.upper()}: "
                "competing events censored",
                "forest_rows = population.assign(",
                f"    _cause=(cause_codes(population, {_lit(settings.endpoint)}, settings) == 1)"
                ".astype(int)",
                ")",
            ]
            if competing
            else ["forest_rows = population"]
        ),
        "subgroup_table = forest(",
        "    forest_rows,",
        f'    "{tcol}",',
        f'    "{"_cause" if competing else ecol}",',
        '    "_treated",',
        "    subgroups,",
        f"    conf_level={conf!r},",
        f"    cluster={_lit('_patient' if reused else 'pair') if matched else 'None'},",
        "    weights=weights,",
        ")",
        "# proportional hazards of the hazard ratio's model (R's cox.zph, transform km)",
        "try:",
        "    zph = ph_test(",
        f"        {rows_var}.assign(_w=1.0 if w is None else w),",
        f'        "{tcol}",',
        f'        "{ecol}",',
        '        ["_treated"],',
        '        weights=None if w is None else "_w",',
        "    )",
        "except InputError as exc:  # e.g. an infinite hazard ratio: cox.zph has no test",
        '    print("no proportional-hazards test:", exc)',
        "    zph = None",
        "",
        "# blinatumomab as a time-dependent exposure: unexposed until the first dose",
        f"td_input = {'population_uses' if reused else 'population'}"
        + ("" if settings.subgroup_filter is None else "  # the subgroup only"),
        *(
            []
            if settings.subgroup_filter is None
            else [
                "td_input = td_input[td_input["
                f"{_lit(settings.subgroup_filter[0])}].astype(str) == "
                f"{_lit(settings.subgroup_filter[1])}]"
            ]
        ),
        "td = td_input.assign(",
        "    _row=range(len(td_input)),",
        '    _start=td_input["blina_start_months"].where(td_input["_treated"] == 1),',
        ")",
        "# left out: blinatumomab start unknown, or no follow-up time",
        f'td = td[~((td["_treated"] == 1) & td["_start"].isna()) & (td["{tcol}"] > 0)]',
        f'split = split_at(td, id="_row", duration="{tcol}", event="{ecol}", at="_start")',
        "td_fit = cox_fit(",
        '    split["exposed"],',
        '    split["stop"],',
        f'    split["{ecol}"],',
        '    names=["exposed"],',
        '    start=split["start"],',
        "    cluster=split["
        + (_lit("_patient") if reused else _lit("pair") if matched else _lit("_row"))
        + "],  # robust by "
        + ("patient" if reused else "matched set" if matched else "patient"),
        "    weights=None if weights is None else split[weights],",
        f"    conf_level={conf!r},",
        ")",
        "mantel_byar = logrank(",
        f'    split["stop"], split["{ecol}"], split["exposed"], entry=split["start"]',
        ")  # the score test of coxph(Surv(start, stop, event) ~ exposed)",
        'print(td_fit.table().to_string(), "\\nMantel-Byar p:", mantel_byar.p_value)',
        "",
        "# 4. Both routes agree",
        "ep = result.endpoint",
        'for column in ("hr", "ci_lower", "ci_upper"):',
        "    a, b = float(hr[column].iloc[0]), float(ep.hazard_ratio[column].iloc[0])",
        "    assert math.isclose(a, b, rel_tol=1e-12) or (math.isnan(a) and math.isnan(b))",
        "assert math.isclose(test.p_value, ep.logrank.p_value, rel_tol=1e-12)",
        "assert math.isclose(plain_test.p_value, ep.logrank_plain.p_value, rel_tol=1e-12)",
        "assert subgroup_table.equals(result.forest[subgroup_table.columns])",
        "if zph is not None:",
        '    assert math.isclose(zph.loc["_treated", "p_value"], ep.ph.p_value, rel_tol=1e-12)',
        f"td_result = result.time_dependent[{_lit(key)}]",
        'for column in ("hr", "ci_lower", "ci_upper"):',
        "    a = float(td_fit.table()[column].iloc[0])",
        "    b = float(td_result.hazard_ratio[column].iloc[0])",
        "    assert math.isclose(a, b, rel_tol=1e-12) or (math.isnan(a) and math.isnan(b))",
        "if td_result.test is not None:",
        "    assert math.isclose(mantel_byar.p_value, td_result.test.p_value, rel_tol=1e-12)",
        'print("step-by-step numbers equal analyze()")',
        "",
    ]
    return "\n".join(out)
