"""Pictures for the director: the overdue bars, the 8-week trend and the team scorecard.

Pure renderers: plain data in, PNG bytes out; no I/O, no clock reads (``now``
is passed in as epoch seconds). Data preparation (``bars_data``, ``trend_data``,
``scorecard_data``) is separate from drawing, so tests check the numbers a picture is drawn from.

May import only the standard library, pytz, the data types and time helpers of
``leoweb_bot.reports``, and matplotlib, which is imported lazily inside the functions that draw
(a worker that never draws a chart never pays for it) and only through its object API:
``matplotlib.figure.Figure`` with ``FigureCanvasAgg``, never pyplot, never ``matplotlib.use``.
Never amoCRM, Telegram, the state database or the bot: the bot calls these.
"""

from leoweb_bot.charts.bars import bars_caption
from leoweb_bot.charts.bars import bars_data
from leoweb_bot.charts.bars import overdue_bars
from leoweb_bot.charts.history import DailySnapshot
from leoweb_bot.charts.history import trend_data
from leoweb_bot.charts.scorecard import scorecard_data
from leoweb_bot.charts.scorecard import scorecard_table
from leoweb_bot.charts.trend import trend_lines
from leoweb_bot.reports import ScoreRow  # the data the scorecard is drawn from

__all__ = [
    "DailySnapshot",
    "ScoreRow",
    "bars_caption",
    "bars_data",
    "overdue_bars",
    "scorecard_data",
    "scorecard_table",
    "trend_data",
    "trend_lines",
]
