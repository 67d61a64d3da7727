"""One rate limiter per amoCRM account and process."""

from __future__ import annotations

from leoweb_bot.amocrm.limiter import shared_limiter


def test_shared_limiter_is_one_per_account():
    first = shared_limiter("https://a-test.amocrm.ru", 7)

    assert shared_limiter("https://a-test.amocrm.ru", 7) is first
    assert shared_limiter("https://b-test.amocrm.ru", 7) is not first
