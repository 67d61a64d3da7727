"""Fuzz both webhooks: whatever arrives, the answer is never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from leoweb_bot.service.web import SECRET_HEADER
from leoweb_bot.service.web import create_app
from leoweb_bot.state import State
from tests.kit.webapp import AMO_SECRET
from tests.kit.webapp import SECRET
from tests.kit.webapp import URL
from tests.kit.webapp import make_settings


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    path = tmp_path / "state.sqlite3"
    return create_app(make_settings(path), State(path)).test_client()


def amo_post(client: FlaskClient, secret: str, body: bytes | str) -> object:
    return client.post(
        f"/amocrm/webhook/{secret}", data=body, content_type="application/x-www-form-urlencoded"
    )


# -- fuzz ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
update_shapes = st.fixed_dictionaries(
    {"update_id": st.integers(min_value=0, max_value=2**31)},
    optional={
        "message": json_values,
        "callback_query": st.fixed_dictionaries(
            {"id": st.text(max_size=5)},
            optional={"from": json_values, "message": json_values, "data": json_values},
        ),
        "edited_message": st.fixed_dictionaries({"chat": json_values}),
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(json.dumps),
    update_shapes.map(json.dumps),
    st.dictionaries(st.text(max_size=10), json_values, max_size=5).map(json.dumps),
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30)
secrets = st.one_of(st.none(), st.just(SECRET), st.just(SECRET + " "), header_text)
content_types = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
)


@hypothesis_settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, secret=secrets, content_type=content_types)
def test_fuzz_the_webhook_never_answers_500(
    client: FlaskClient, body: bytes | str, secret: str | None, content_type: str
) -> None:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    response = client.post(URL, data=body, headers=headers, content_type=content_type)
    assert response.status_code in (200, 400, 403)
    if response.status_code == 200:
        assert secret == SECRET
        update = json.loads(body)
        assert isinstance(update["update_id"], int) and not isinstance(update["update_id"], bool)


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=300) | st.text(max_size=100), secret=st.text(max_size=20))
def test_fuzz_the_amocrm_webhook_never_answers_500(
    client: FlaskClient, body: bytes | str, secret: str
) -> None:
    path_secret = secret.replace("/", "_").replace("?", "_").replace("#", "_") or "x"
    response = amo_post(client, path_secret, body)
    assert response.status_code in (200, 403, 404)
    if response.status_code == 200:
        assert path_secret == AMO_SECRET
