"""Settings: validation, JSON round trip, updates."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blinastudy.analysis.settings import DEFAULT_COVARIATES, Settings
from blinastudy.core.errors import InputError


def test_defaults_round_trip() -> None:
    s = Settings()
    assert Settings.from_json(s.to_json()) == s
    data = json.loads(s.to_json())
    assert data["version"] == 1
    assert data["matching"]["covariates"] == list(DEFAULT_COVARIATES)


@settings(max_examples=150, deadline=None)
@given(
    caliper=st.one_of(st.none(), st.floats(0.01, 10)),
    ratio=st.integers(1, 10),
    replace=st.booleans(),
    endpoint=st.sampled_from(["efs", "os"]),
    origin=st.sampled_from(["diagnosis", "landmark"]),
    landmark=st.floats(0.5, 120),
    horizon=st.floats(1, 240),
    thr=st.floats(0.001, 10),
    subgroups=st.lists(
        st.sampled_from(["risk_group", "sex", "age_band", "custom col"]), max_size=4
    ),
    presentation=st.booleans(),
    filt=st.one_of(
        st.none(), st.tuples(st.sampled_from(["risk_group", "sex"]), st.text(max_size=8))
    ),
)
def test_any_valid_settings_round_trip(
    caliper: float | None,
    ratio: int,
    replace: bool,
    endpoint: str,
    origin: str,
    landmark: float,
    horizon: float,
    thr: float,
    subgroups: list[str],
    presentation: bool,
    filt: tuple[str, str] | None,
) -> None:
    s = Settings().update(
        matching__caliper=caliper,
        matching__ratio=ratio,
        matching__replace=replace,
        endpoint=endpoint,
        origin=origin,
        landmark_months=landmark,
        horizon_months=horizon,
        mrd__threshold_pct=thr,
        subgroups=tuple(subgroups),
        display__presentation=presentation,
        subgroup_filter=filt,
    )
    back = Settings.from_json(s.to_json())
    assert back == s
    assert back.to_json() == s.to_json()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"endpoint": "pfs"}, "endpoint"),
        ({"matching": {"caliper": -1}}, "caliper"),
        ({"matching": {"ratio": 0}}, "ratio"),
        ({"matching": {"covariates": []}}, "at least one covariate"),
        ({"matching": {"scale": "probit"}}, "scale"),
        ({"mrd": {"threshold_pct": 0}}, "threshold_pct"),
        ({"mrd": {"timepoint": "day8"}}, "timepoint"),
        ({"landmark_months": 0}, "landmark_months"),
        ({"horizon_months": 1000}, "horizon_months"),
        ({"conf_level": 1.0}, "conf_level"),
        ({"bogus": 1}, "unknown key"),
        ({"matching": {"bogus": 1}}, "unknown key"),
        ({"version": 99}, "version"),
        ({"matching": 3}, "must be an object"),
    ],
)
def test_bad_settings_are_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        Settings.from_dict(data)


def test_bad_json() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        Settings.from_json("{not json")
    with pytest.raises(InputError, match="JSON object"):
        Settings.from_json("[1, 2]")


def test_update_nested_and_immutability() -> None:
    s = Settings()
    t = s.update(matching__caliper=0.1, endpoint="os")
    assert (t.matching.caliper, t.endpoint) == (0.1, "os")
    assert (s.matching.caliper, s.endpoint) == (0.2, "efs")
    with pytest.raises(AttributeError):
        s.endpoint = "os"  # type: ignore[misc]
    assert Settings().mrd.column == "mrd_eoi_pct"
    assert Settings().update(mrd__timepoint="day15").mrd.column == "mrd_day15_pct"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"matching": {"caliper": true}}', "matching.caliper"),
        ('{"landmark_months": false}', "landmark_months"),
        ('{"mrd": {"threshold_pct": true}}', "mrd.threshold_pct"),
        ('{"weighting": {"trim": true}}', "weighting.trim"),
        ('{"sweep_calipers": [0.1, true]}', "sweep_calipers"),
        ('{"sweep_calipers": "0.1"}', "sweep_calipers"),
        ('{"subgroups": "sex"}', "subgroups"),
        ('{"matching": {"covariates": ["age_years", 3]}}', "matching.covariates"),
        ('{"display": {"teaching": 1}}', "display.teaching"),
        ('{"relapse_includes_induction_failure": "yes"}', "relapse_includes_induction_failure"),
        ('{"mappings": [1]}', "mappings"),
        ('{"subgroup_filter": ["risk_group", ["HR"]]}', "subgroup_filter"),
        ('{"matching": {"random_state": true}}', "matching.random_state"),
    ],
)
def test_settings_types_are_strict(text: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        Settings.from_json(text)
    message = str(info.value)
    assert words in message and "\n" not in message


def test_hostile_settings_files_are_refused_in_one_line() -> None:
    deep = '{"mappings": [' + "[" * 900 + "]" * 900 + "]}"
    digits = '{"landmark_months": ' + "9" * 5000 + "}"
    huge = '{"subgroups": ["' + "x" * 3_000_000 + '"]}'
    for text, words in (
        (deep, "nested more than"),
        (digits, "cannot be read"),
        (huge, "at most"),
        (b"\xff\xfe{", "not UTF-8"),
    ):
        with pytest.raises(InputError) as info:
            Settings.from_json(text)
        assert words in str(info.value) and "\n" not in str(info.value)
        assert "Traceback" not in str(info.value)
