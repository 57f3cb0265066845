"""One default simulation-profile table, by assistance kind, used by both simulators."""

from __future__ import annotations

from analysis.simulation import (
    DEFAULT_PROFILE_BY_KIND,
    DEFAULT_STUDY_KINDS,
    ConditionProfile,
    SimulationProfile,
    default_profile,
)
from study.config import parse_config
from study.simulate import profile_for_study
from study.testing import small_config


def test_vectorised_simulator_defaults_are_the_table() -> None:
    assert SimulationProfile().conditions == {k: DEFAULT_PROFILE_BY_KIND[k] for k in DEFAULT_STUDY_KINDS}
    assert DEFAULT_PROFILE_BY_KIND["reasoning"].shows_ai_label
    assert not any(p.shows_ai_label for k, p in DEFAULT_PROFILE_BY_KIND.items() if k != "reasoning")


def test_copies_do_not_share_state_with_the_table() -> None:
    prof = SimulationProfile()
    prof.conditions["evidence"].skill = 0.99
    fresh = default_profile("evidence")
    fresh.confidence.sd = 0.5
    assert DEFAULT_PROFILE_BY_KIND["evidence"].skill == 0.78
    assert DEFAULT_PROFILE_BY_KIND["evidence"].confidence.sd == 0.1


def test_service_simulator_fills_conditions_by_kind_not_key() -> None:
    data = small_config()
    data["conditions"] = [{"key": "control", "assistance": "none"}, {"key": "ai_reasons", "assistance": "reasoning"},
                          {"key": "quotes", "assistance": "evidence"}]
    given = SimulationProfile(conditions={"quotes": ConditionProfile(skill=0.6)})
    prof = profile_for_study(parse_config(data), given)
    assert prof.conditions == {"control": DEFAULT_PROFILE_BY_KIND["none"],
                               "ai_reasons": DEFAULT_PROFILE_BY_KIND["reasoning"],
                               "quotes": ConditionProfile(skill=0.6)}
