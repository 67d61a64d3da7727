from __future__ import annotations

import pytest

from tests.amocrm.fakes import NOW
from tests.kit.fakeclock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)
