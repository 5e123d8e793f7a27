"""What operators type (list filters, cursors, moments, credentials, agent modules) is checked and named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.agent_modules import AgentModuleError, agent_module_names, import_agent_modules
from coordination.errors import InvalidInputError
from coordination.views import listing
from coordination.views.listing import CoordinationSummary
from coordination.views.moments import parse_moment
from coordination.web.auth import CredentialsError, parse_credentials


def _summary(moment: datetime, cid: str) -> CoordinationSummary:
    return CoordinationSummary(cid, "wf", "completed", moment, None, None, 0, "redis")


def test_a_cursor_names_the_last_coordination_shown_and_decodes_to_it():
    moment = datetime(2026, 1, 31, 12, 0, 0, 123456, tzinfo=UTC)
    cursor = listing._encode_cursor(_summary(moment, "wf-abc"))
    assert listing._decode_cursor(cursor) == (moment, "wf-abc")


@pytest.mark.parametrize("cursor", ["", "not-base64!", "eyJhIjoxfQ", "W10", "x" * 500, "WyJhIiwxXQ"])
def test_a_cursor_that_no_page_gave_is_refused_naming_the_cursor(cursor):
    with pytest.raises(InvalidInputError) as refused:
        listing.list_coordinations(cursor=cursor)
    assert refused.value.field == "cursor"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": ["running", "nope"]}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": True}, "limit"),
        ({"workflow": ""}, "workflow"),
        ({"since": "yesterday"}, "since"),
        (
            {"since": datetime(2026, 2, 1, tzinfo=UTC), "until": datetime(2026, 1, 1, tzinfo=UTC)},
            "until",
        ),
    ],
)
def test_malformed_filters_are_refused_before_anything_is_read(arguments, field):
    with pytest.raises(InvalidInputError) as refused:
        listing.list_coordinations(**arguments)
    assert refused.value.field == field


def test_moments_are_a_time_ago_or_an_iso_date_in_utc():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_moment("2h", "since", now) == now - timedelta(hours=2)
    assert parse_moment("30m", "since", now) == now - timedelta(minutes=30)
    assert parse_moment("7d", "since", now) == now - timedelta(days=7)
    assert parse_moment("2026-01-31", "since") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_moment("2026-01-31T12:00+02:00", "since") == datetime(2026, 1, 31, 10, 0, tzinfo=UTC)
    with pytest.raises(InvalidInputError) as refused:
        parse_moment("last tuesday", "until")
    assert refused.value.field == "until"


def test_credentials_are_user_password_pairs_and_empty_parts_are_refused():
    assert parse_credentials("ops:s3cret") == [("ops", "s3cret")]
    assert parse_credentials("a:1, b:p:with:colons") == [("a", "1"), ("b", "p:with:colons")]
    for bad in (":", "user:", ":password", "nocolon", "a:1,,b:2"):
        with pytest.raises(CredentialsError, match="COORD_FLOWER_BASIC_AUTH"):
            parse_credentials(bad)


def test_agent_modules_are_dotted_names_and_an_unimportable_one_is_one_line_naming_it():
    assert agent_module_names(" examples.codegen , ,tests.e2e.agents") == ["examples.codegen", "tests.e2e.agents"]
    with pytest.raises(AgentModuleError) as bad_name:
        agent_module_names("examples.codegen,not a module!")
    assert str(bad_name.value.code).startswith("COORD_AGENT_MODULES: 'not a module!' is not a module name")
    with pytest.raises(AgentModuleError) as missing:
        import_agent_modules(["json", "no_such_package_xyz.agents"])
    message = str(missing.value.code)
    assert "'no_such_package_xyz.agents'" in message and "\n" not in message
    assert isinstance(missing.value, SystemExit)
