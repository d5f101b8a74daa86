from __future__ import annotations

from datetime import timedelta

import pytest

from app.alerts.schemas import Outcome
from app.console.display import (
    DONE_MESSAGES,
    OUTCOME_LABELS,
    age_words,
    audit_note,
    audit_words,
    group_number,
    mask_email,
    service_words,
)


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("jamie.rivera@example.com", "ja***@example.com"),
        ("jo@example.com", "j***@example.com"),
        ("j@example.com", "j***@example.com"),
        ("not-an-email", "***"),
        (None, "no email on file"),
        ("", "no email on file"),
    ],
)
def test_emails_are_masked_to_two_letters_and_the_domain(email, masked):
    assert mask_email(email) == masked


def test_a_masked_email_never_contains_the_full_local_part():
    assert "rivera" not in mask_email("jamie.rivera@example.com")


def test_numbers_are_grouped_in_fours_like_carriers_print_them():
    assert group_number("92612900100001003621436053") == "9261 2900 1000 0100 3621 4360 53"
    assert group_number("1Z999AA1") == "1Z99 9AA1"
    assert group_number("") == ""


@pytest.mark.parametrize(
    ("age", "words"),
    [
        (timedelta(seconds=30), "0 min"),
        (timedelta(minutes=45), "45 min"),
        (timedelta(hours=5, minutes=10), "5 h 10 min"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
        (timedelta(seconds=-5), "0 min"),
    ],
)
def test_ages_read_at_a_glance(age, words):
    assert age_words(age) == words


def test_service_names_read_as_words():
    assert service_words("ground_economy") == "Ground Economy"
    assert service_words(None) == ""


def test_every_outcome_has_a_label():
    assert set(OUTCOME_LABELS) == set(Outcome)


@pytest.mark.parametrize(
    ("action", "detail", "words"),
    [
        ("alert.acknowledged", {"rule": "handoff_gap"}, "acknowledged the handoff gap alert"),
        (
            "alert.resolved",
            {"rule": "handoff_gap", "outcome": "reshipped", "note": "new label"},
            "resolved the handoff gap alert: reshipped",
        ),
        (
            "alert.assigned",
            {"rule": "late", "to": "claims"},
            "assigned the late alert to team claims",
        ),
        (
            "alert.note",
            {"rule": "late", "note": "customer called"},
            "added a note to the late alert",
        ),
        ("customer.notice_queued", {"rule": "handoff_gap"}, "queued an email to the customer"),
        ("something.new", {}, "something new"),
    ],
)
def test_audit_entries_read_as_plain_sentences(action, detail, words):
    assert audit_words(action, detail) == words


def test_the_note_of_an_audit_entry_is_shown_apart():
    assert audit_note({"note": "customer called"}) == "customer called"
    assert audit_note({"note": None}) is None


def test_flash_messages_are_fixed_texts():
    assert all(text.endswith(".") for text in DONE_MESSAGES.values())


def test_a_timeline_scan_reads_in_its_own_zone_as_findings_word_it():
    from datetime import UTC, datetime

    from app.console.display import scan_time

    now = datetime(2026, 12, 4, tzinfo=UTC)

    assert scan_time("2026-11-28T01:07:00-07:00", now) == "Sat 28 Nov 01:07 UTC-07:00"
    assert scan_time("2025-12-31T23:30:00+05:30", now) == "Wed 31 Dec 2025 23:30 UTC+05:30"
