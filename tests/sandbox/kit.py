"""What the sandbox test files share: the demo's "now" in company time."""

from __future__ import annotations

from datetime import datetime

import pytz

ALMATY = pytz.timezone("Asia/Almaty")
NOW = int(ALMATY.localize(datetime(2026, 11, 25, 14, 5)).timestamp())
