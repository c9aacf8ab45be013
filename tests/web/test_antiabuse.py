"""Anti-abuse at the door, without HTTP: the honeypot, the minimum fill time, and the link limit
for brand-new accounts. The clock is passed in: no test sleeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import TimestampSigner
from selectolax.lexbor import LexborHTMLParser

from app import PROJECT_ROOT
from app.web.antiabuse import (
    HONEYPOT_FIELD,
    MIN_FILL_SECONDS,
    STARTED_FIELD,
    FormRejected,
    check_guard,
    check_link_limit,
    guard_values,
    sign_form_start,
    sign_form_starts,
)
from app.web.errors import Invalid
from app.web.templating import environment
from tests.web.helpers import make_settings

NOW = datetime(2025, 3, 14, 10, 0, 0, tzinfo=UTC)
TOO_FAST = "trop rapide"
GENERIC = "n'a pas pu être accepté"


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    return make_settings(tmp_path)


def _form(settings, *, rendered_at: datetime = NOW, honeypot: str = "") -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {STARTED_FIELD: sign_form_start(settings, rendered_at), HONEYPOT_FIELD: honeypot}


def _refusal(form, settings, now=NOW) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(FormRejected) as caught:
        check_guard(form, settings, now=now)
    assert caught.value.status_code == 422
    assert caught.value.errors == {}
    return caught.value.detail or ""


# --- fill time ------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [MIN_FILL_SECONDS, 10, 3600])
def test_a_form_sent_after_the_minimum_fill_time_is_accepted(settings, seconds) -> None:  # type: ignore[no-untyped-def]
    form = _form(settings, rendered_at=NOW - timedelta(seconds=seconds))

    check_guard(form, settings, now=NOW)


@pytest.mark.parametrize("seconds", [0, 1, MIN_FILL_SECONDS - 1])
def test_a_form_sent_too_fast_is_refused_with_a_message_to_try_again(settings, seconds) -> None:  # type: ignore[no-untyped-def]
    form = _form(settings, rendered_at=NOW - timedelta(seconds=seconds))

    message = _refusal(form, settings)

    assert TOO_FAST in message
    assert "réessayez" in message


def test_a_timestamp_from_the_future_counts_as_too_fast(settings) -> None:  # type: ignore[no-untyped-def]
    assert TOO_FAST in _refusal(_form(settings, rendered_at=NOW + timedelta(hours=1)), settings)


def test_a_form_rendered_more_than_a_day_ago_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    form = _form(settings, rendered_at=NOW - timedelta(days=2))

    assert GENERIC in _refusal(form, settings)


@pytest.mark.parametrize(
    "started",
    [
        None,
        "",
        "n'importe quoi",
        "form.AAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBB",
        "x" * 5000,
    ],
    ids=["missing", "empty", "garbage", "fake-signature", "huge"],
)
def test_a_missing_or_malformed_timestamp_is_refused(settings, started) -> None:  # type: ignore[no-untyped-def]
    form = {HONEYPOT_FIELD: ""}
    if started is not None:
        form[STARTED_FIELD] = started

    assert GENERIC in _refusal(form, settings)


def test_a_timestamp_signed_with_another_secret_or_salt_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    stamp = int((NOW - timedelta(minutes=1)).timestamp())
    for secret, salt in [("another-secret", "bourse.form"), (settings.signing_key, "other")]:
        signer = TimestampSigner(secret, salt=salt)
        signer.get_timestamp = lambda: stamp  # type: ignore[method-assign]
        form = {STARTED_FIELD: signer.sign(b"form").decode(), HONEYPOT_FIELD: ""}

        assert GENERIC in _refusal(form, settings)


def test_a_tampered_timestamp_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    value, stamp, signature = sign_form_start(settings, NOW).split(".")
    older = TimestampSigner(settings.signing_key, salt="x")
    older.get_timestamp = lambda: int((NOW - timedelta(hours=1)).timestamp())  # type: ignore[method-assign]
    other_stamp = older.sign(b"form").decode().split(".")[1]
    assert other_stamp != stamp

    assert GENERIC in _refusal({STARTED_FIELD: f"{value}.{other_stamp}.{signature}"}, settings)


def test_the_real_clock_is_used_when_none_is_given(settings) -> None:  # type: ignore[no-untyped-def]
    fresh = {STARTED_FIELD: guard_values(settings)["started"], HONEYPOT_FIELD: ""}
    assert TOO_FAST in _refusal(fresh, settings, now=None)
    check_guard(_form(settings, rendered_at=datetime.now(UTC) - timedelta(seconds=5)), settings)


# --- honeypot --------------------------------------------------------------------------------


@pytest.mark.parametrize("honeypot", ["http://spam.example", " x "])
def test_a_filled_honeypot_is_refused_with_a_generic_message(settings, honeypot) -> None:  # type: ignore[no-untyped-def]
    form = _form(settings, rendered_at=NOW - timedelta(minutes=5), honeypot=honeypot)

    message = _refusal(form, settings)

    assert GENERIC in message
    # Nothing tells a bot which check fired.
    for word in ("champ", "caché", "rempli", "rapide", "robot"):
        assert word not in message.lower()


def test_a_honeypot_of_spaces_only_is_accepted(settings) -> None:  # type: ignore[no-untyped-def]
    check_guard(
        _form(settings, rendered_at=NOW - timedelta(minutes=1), honeypot="  "), settings, NOW
    )


# --- BOURSE_RATE_LIMITS=off -------------------------------------------------------------------


def test_rate_limits_off_turns_the_fill_time_check_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, rate_limits="off")

    check_guard(_form(settings, rendered_at=NOW), settings, now=NOW)
    check_guard({HONEYPOT_FIELD: ""}, settings, now=NOW)  # no timestamp at all: load tests
    check_guard({}, settings, now=NOW)


def test_rate_limits_off_keeps_the_honeypot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, rate_limits="off")

    assert GENERIC in _refusal({HONEYPOT_FIELD: "bot"}, settings)


# --- the fields in the page --------------------------------------------------------------------


def test_guard_values_carry_a_fresh_signed_timestamp(settings) -> None:  # type: ignore[no-untyped-def]
    guard = guard_values(settings, now=NOW)

    assert guard["started_field"] == STARTED_FIELD
    assert guard["honeypot_field"] == HONEYPOT_FIELD
    _value, when = TimestampSigner(settings.signing_key, salt="bourse.form").unsign(
        guard["started"], return_timestamp=True
    )
    assert when == NOW


def test_many_values_signed_at_once_are_distinct_and_read_by_the_signer(settings) -> None:  # type: ignore[no-untyped-def]
    """The quick way (one derived key for all) makes what TimestampSigner makes and reads."""
    signer = TimestampSigner(settings.signing_key, salt="bourse.form")
    before = datetime.now(UTC).replace(microsecond=0)
    values = sign_form_starts(settings, 40)
    assert len(set(values)) == 40
    for value in values:
        nonce, when = signer.unsign(value, return_timestamp=True)
        assert len(nonce) == 16 and before <= when <= datetime.now(UTC)
        check_guard(
            {STARTED_FIELD: value, HONEYPOT_FIELD: ""}, settings, now=when + timedelta(seconds=5)
        )
    other = TimestampSigner("une-autre-clef-" * 3, salt="bourse.form")
    with pytest.raises(Exception):  # noqa: B017 - BadSignature, whatever its subclass
        other.unsign(values[0])
    assert sign_form_starts(settings, 0) == []


def _render_fields(settings, **kwargs) -> LexborHTMLParser:  # type: ignore[no-untyped-def]
    template = environment.from_string(
        '{% from "_macros/antiabuse.html" import guard_fields %}'
        "<form>{{ guard_fields(guard, **kwargs) }}</form>"
    )
    return LexborHTMLParser(template.render(guard=guard_values(settings), kwargs=kwargs))


def test_the_honeypot_is_hidden_from_sight_and_tab_order_but_labelled(settings) -> None:  # type: ignore[no-untyped-def]
    tree = _render_fields(settings)

    started = tree.css_first(f'input[name="{STARTED_FIELD}"]')
    assert started.attributes["type"] == "hidden"
    assert started.attributes["value"]
    honeypot = tree.css_first(f'input[name="{HONEYPOT_FIELD}"]')
    assert honeypot.attributes["type"] == "text"
    assert honeypot.attributes["value"] == ""
    assert honeypot.attributes["tabindex"] == "-1"
    assert honeypot.attributes["autocomplete"] == "off"
    # No aria-hidden on a focusable field (axe: aria-hidden-focus); the label speaks instead.
    assert "aria-hidden" not in honeypot.attributes
    label = tree.css_first(f'label[for="{honeypot.attributes["id"]}"]')
    assert label.text(strip=True) == "Ne pas remplir ce champ"
    wrapper = honeypot.parent
    assert "form-extra" in wrapper.attributes["class"].split()


def test_two_guarded_forms_on_one_page_get_distinct_ids(settings) -> None:  # type: ignore[no-untyped-def]
    tree = _render_fields(settings, id="f-website-reply-3")

    assert tree.css_first(f'input[name="{HONEYPOT_FIELD}"]').attributes["id"] == "f-website-reply-3"
    assert tree.css_first('label[for="f-website-reply-3"]') is not None


def test_the_stylesheet_moves_the_honeypot_off_screen() -> None:
    css = (PROJECT_ROOT / "static" / "css" / "app.css").read_text()
    section = css.split("/* --- anti-abuse --- */", 1)[1]
    rule = section.split(".form-extra {", 1)[1].split("}", 1)[0]
    assert "position: absolute" in rule
    assert "left: -10000px" in rule
    assert "display: none" not in rule


# --- links from brand-new accounts -----------------------------------------------------------

THREE_LINKS = "Voir https://a.example, https://b.example et www.c.example"


def test_a_new_account_may_post_two_links() -> None:
    check_link_limit(NOW - timedelta(hours=1), "https://a.example", "www.b.example", now=NOW)


def test_a_new_account_posting_three_links_is_refused_on_the_named_field() -> None:
    with pytest.raises(Invalid) as caught:
        check_link_limit(NOW - timedelta(hours=23), THREE_LINKS, field="body", now=NOW)

    assert set(caught.value.errors) == {"body"}
    assert "moins d'un jour" in caught.value.errors["body"]
    assert "2 liens" in caught.value.errors["body"]


def test_links_are_counted_across_all_the_texts_of_a_post() -> None:
    with pytest.raises(Invalid) as caught:
        check_link_limit(
            NOW, "Titre https://a.example", "https://b.example https://c.example", now=NOW
        )
    assert set(caught.value.errors) == {"body"}


def test_the_field_of_the_error_can_be_chosen() -> None:
    with pytest.raises(Invalid) as caught:
        check_link_limit(NOW, THREE_LINKS, field="comment", now=NOW)
    assert set(caught.value.errors) == {"comment"}


def test_an_account_a_day_old_may_post_many_links() -> None:
    check_link_limit(NOW - timedelta(days=1), THREE_LINKS * 5, now=NOW)


def test_a_naive_creation_date_from_sqlite_is_read_as_utc() -> None:
    naive = (NOW - timedelta(hours=2)).replace(tzinfo=None)
    with pytest.raises(Invalid):
        check_link_limit(naive, THREE_LINKS, now=NOW)
    check_link_limit(naive - timedelta(days=1), THREE_LINKS, now=NOW)
