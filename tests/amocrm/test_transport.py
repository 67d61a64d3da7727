"""The road to amoCRM over a faked network (``responses``): retries and their budget, statuses
turned into typed errors, the block cool-down."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests
import responses
from responses import matchers

from leoweb_bot.amocrm import AmoError
from leoweb_bot.amocrm import AuthError
from leoweb_bot.amocrm import BadRequest
from leoweb_bot.amocrm import Blocked
from leoweb_bot.amocrm import Forbidden
from leoweb_bot.amocrm import NotFound
from leoweb_bot.amocrm import PaymentRequired
from leoweb_bot.amocrm import RateLimited
from leoweb_bot.amocrm import Unavailable
from tests.amocrm.fakes import BASE
from tests.amocrm.fakes import HTML_403
from tests.amocrm.fakes import HTML_429
from tests.amocrm.fakes import NOW
from tests.amocrm.fakes import TOKEN
from tests.amocrm.fakes import make_client

# -- retries --------------------------------------------------------------------------------------


def test_429_with_html_body_is_retried_then_succeeds(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=429, body=HTML_429, content_type="text/html"
    )
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1, "name": "Leo"})

    account = make_client(clock).account()

    assert account.name == "Leo"
    assert len(rsps.calls) == 2
    assert len(clock.slept) == 1


def test_429_storm_ends_in_rate_limited_within_the_wait_cap(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=429, body=HTML_429, content_type="text/html"
    )

    with pytest.raises(RateLimited):
        make_client(clock).account()

    assert sum(clock.slept) <= 20
    assert 2 <= len(rsps.calls) <= 8


def test_retry_after_is_honoured(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=429, headers={"Retry-After": "3"})
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})

    make_client(clock).account()

    assert clock.slept == [3.0]


def test_retry_after_as_an_http_date_is_honoured(rsps, clock):
    # urllib3's rule measures the date against the wall clock; the date has whole seconds.
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=503, headers={"Retry-After": when})
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})

    make_client(clock).account()

    [slept] = clock.slept
    assert 9 < slept <= 10


def test_a_retry_after_in_other_digits_is_ignored_not_a_crash(rsps, clock):
    # A header is latin-1: "²" can arrive, and str.isdigit() accepts what float() rejects.
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=429, headers={"Retry-After": "²"})
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1, "name": "Leo"})

    assert make_client(clock).account().name == "Leo"
    assert len(clock.slept) == 1


def test_retry_after_beyond_the_cap_gives_up_at_once(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=429, headers={"Retry-After": "60"})

    with pytest.raises(RateLimited):
        make_client(clock).account()

    assert clock.slept == []
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(rsps, clock, status):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=status)
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})

    assert make_client(clock).account().id == 1
    assert len(rsps.calls) == 2


def test_persistent_server_error_ends_in_unavailable(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", status=503)

    with pytest.raises(Unavailable) as exc:
        make_client(clock).account()

    assert exc.value.status == 503
    assert sum(clock.slept) <= 20


def test_read_timeout_ends_in_unavailable(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", body=requests.ReadTimeout("slow"))

    with pytest.raises(Unavailable):
        make_client(clock).account()

    assert sum(clock.slept) <= 20


def test_connection_error_ends_in_unavailable(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/account", body=requests.ConnectionError("refused"))

    with pytest.raises(Unavailable):
        make_client(clock).account()


def test_a_broken_answer_is_unavailable(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", body=requests.exceptions.ChunkedEncodingError()
    )

    with pytest.raises(Unavailable):
        make_client(clock).account()


def test_completing_a_task_is_retried_after_a_timeout_since_patch_is_idempotent(rsps, clock):
    rsps.add(responses.PATCH, f"{BASE}/api/v4/tasks/5", body=requests.ReadTimeout("slow"))
    rsps.add(
        responses.PATCH,
        f"{BASE}/api/v4/tasks/5",
        match=[matchers.json_params_matcher({"is_completed": True, "result": {"text": "Готово"}})],
        json={"id": 5, "updated_at": NOW},
    )

    make_client(clock).complete_task(5, "Готово")

    assert len(rsps.calls) == 2


# -- status → error -------------------------------------------------------------------------------


def test_402_raises_payment_required(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads",
        status=402,
        json={"title": "Payment Required", "status": 402, "detail": "Account not paid"},
    )

    with pytest.raises(PaymentRequired) as exc:
        list(make_client(clock).iter_leads())

    assert "Account not paid" in str(exc.value)


def test_400_carries_problem_detail_and_validation_errors(rsps, clock):
    problem = {
        "title": "Bad Request",
        "status": 400,
        "detail": "Request validation failed",
        "validation-errors": [
            {
                "request_id": "0",
                "errors": [
                    {
                        "code": "NotSupportedChoice",
                        "path": "result.text",
                        "detail": "The value you selected is not valid",
                    }
                ],
            }
        ],
    }
    rsps.add(
        responses.PATCH,
        f"{BASE}/api/v4/tasks/5",
        status=400,
        json=problem,
        content_type="application/problem+json",
    )

    with pytest.raises(BadRequest) as exc:
        make_client(clock).complete_task(5, "x")

    assert str(exc.value) == "amocrm 400: Request validation failed"
    assert "result.text: The value you selected is not valid" in exc.value.detail


def test_401_with_a_long_lived_token_raises_auth_error_naming_the_remedy(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/account",
        status=401,
        json={"title": "Unauthorized", "status": 401, "detail": "Token expired"},
    )

    with pytest.raises(AuthError) as exc:
        make_client(clock).account()

    assert "long-lived token" in str(exc.value)
    assert TOKEN not in str(exc.value)
    assert len(rsps.calls) == 1


def test_404_and_204_on_one_entity_raise_not_found(rsps, clock):
    rsps.add(responses.GET, f"{BASE}/api/v4/leads/1", status=404, json={"title": "Not Found"})
    rsps.add(responses.GET, f"{BASE}/api/v4/leads/2", status=204)
    client = make_client(clock)

    with pytest.raises(NotFound):
        client.lead(1)
    with pytest.raises(NotFound):
        client.lead(2)


def test_html_403_after_429s_is_a_block_and_the_cool_down_sends_nothing(rsps, clock):
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=429, body=HTML_429, content_type="text/html"
    )
    rsps.add(
        responses.GET, f"{BASE}/api/v4/account", status=403, body=HTML_403, content_type="text/html"
    )
    client = make_client(clock)

    with pytest.raises(Blocked) as exc:
        client.account()
    assert "support" in str(exc.value)
    assert len(rsps.calls) == 2

    clock.advance(9 * 60)
    with pytest.raises(Blocked):
        client.account()
    assert len(rsps.calls) == 2  # refused without a request

    clock.advance(2 * 60)
    rsps.add(responses.GET, f"{BASE}/api/v4/account", json={"id": 1})
    assert client.account().id == 1


def test_json_403_long_after_any_429_is_forbidden_not_blocked(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/leads/pipelines",
        status=403,
        json={"title": "Forbidden", "status": 403, "detail": "Access denied"},
    )

    with pytest.raises(Forbidden):
        make_client(clock).pipelines()


def test_non_json_success_body_raises_amo_error(rsps, clock):
    rsps.add(
        responses.GET,
        f"{BASE}/api/v4/account",
        body="<html>maintenance</html>",
        content_type="text/html",
    )

    with pytest.raises(AmoError, match="expected JSON"):
        make_client(clock).account()
