"""problem_check, the import's fast template check, answers as render_problems does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.campaigns.sequence import (
    DEFAULT_FOLLOW_UPS,
    DEFAULT_NOTE,
    Templates,
    problem_check,
    render_problems,
)

NAMES = ["first_name", "company", "title", "hook", "event"]
TEMPLATES = [
    DEFAULT_NOTE,
    *DEFAULT_FOLLOW_UPS,
    "Hi {{ first_name }}",
    "{{ hook }}{{ event | default('') }}",
    "{{ hook | d('x') }} {{ first_name }} {{ company }} {ok}",
    "{% if event is defined %}See you at {{ event }}{% endif %} {{ first_name | upper }}",
    "{{ first_name | default('there', true) }} {{ title | default(company) }}",
    "   ",
    "{{ ",
]
values = st.one_of(
    st.text(max_size=120),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
variables = st.dictionaries(st.sampled_from(NAMES), values, max_size=len(NAMES))


def templates(note: str | None, follow_up: str) -> Templates:
    return Templates(invitation_note=note, follow_ups=[follow_up, DEFAULT_FOLLOW_UPS[0]])


@settings(max_examples=300, deadline=None)
@given(
    note=st.one_of(st.none(), st.sampled_from(TEMPLATES)),
    follow_up=st.sampled_from(TEMPLATES),
    prospects=st.lists(variables, min_size=1, max_size=8),
)
def test_the_fast_check_agrees_with_rendering(
    note: str | None, follow_up: str, prospects: list[dict[str, Any]]
) -> None:
    spec = templates(note, follow_up)
    check = problem_check(spec)
    for prospect in prospects:  # several prospects through one check: its memo is shared
        assert check(prospect) == render_problems(spec, prospect)


AWKWARD = [10**5000, "x" * 400, "", "{}", "{0}", "%s", True, 1e16, -0.0, ["a"], {"b": 1}]


@pytest.mark.parametrize("value", AWKWARD, ids=[type(v).__name__ for v in AWKWARD])
def test_awkward_values(value: Any) -> None:
    spec = templates(DEFAULT_NOTE, "{{ hook }} {{ first_name | default('x') }}")
    for prospect in ({"first_name": value}, {"hook": value}, {"company": value, "hook": 1}):
        assert problem_check(spec)(prospect) == render_problems(spec, prospect)
