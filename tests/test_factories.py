"""The row builders of tests/factories.py write every landing column (conftest.COLUMNS)."""

import pytest
from conftest import COLUMNS
from factories import BUILDERS

KEYS = {
    "users": "user_id",
    "campaigns": "campaign_id",
    "sends": "send_id",
    "interactions": "interaction_id",
    "events": "event_id",
    "consent_changes": "change_id",
}


@pytest.mark.parametrize("source", sorted(COLUMNS))
def test_builder_has_every_column_in_landing_order(source):
    row = BUILDERS[source](**{KEYS[source]: "k1"})
    assert list(row) == COLUMNS[source]
    assert row[KEYS[source]] == "k1"


def test_builders_take_keywords_only():
    with pytest.raises(TypeError):
        BUILDERS["sends"]("s1")  # a positional value would silently land in the wrong column
