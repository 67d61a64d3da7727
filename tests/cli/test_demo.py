"""`leoweb-bot demo`: the README's quick start end to end, the terminal chat on the sandbox,
and the Telegram mode against a loopback fake Bot API."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from leoweb_bot.cli.demo import DeferredFile
from leoweb_bot.cli.demo import ask_role
from leoweb_bot.cli.demo import demo_crm
from leoweb_bot.cli.demo import demo_manager_id
from leoweb_bot.cli.demo import demo_route
from leoweb_bot.cli.demo import demo_settings
from leoweb_bot.cli.demo import poll_demo
from leoweb_bot.cli.demo import run_in_telegram
from leoweb_bot.cli.demo import run_in_terminal
from leoweb_bot.cli.demo import start_sender
from leoweb_bot.cli.failures import CliError
from leoweb_bot.cli.failures import failure
from leoweb_bot.cli.terminal import ADMIN_ID
from leoweb_bot.cli.terminal import CONSOLE
from leoweb_bot.cli.terminal import DIRECTOR_ID
from leoweb_bot.cli.terminal import MANAGER_ID
from leoweb_bot.cli.terminal import TerminalChat
from leoweb_bot.cli.terminal import TerminalTelegram
from leoweb_bot.telegram.client import Telegram
from leoweb_bot.telegram.client import TelegramError
from tests.conftest import leoweb_env
from tests.kit.fakebot import FakeBotAPI
from tests.kit.paths import ROOT

QUICKSTART = ROOT / "demo" / "quickstart.txt"
DAYS_OVERDUE = re.compile(r"\d+ (?:день|дня|дней) просрочки")
LEAD_LINK = re.compile(r"\(http://127\.0\.0\.1:\d+/leads/detail/\d+\)")
TOKEN = "123456:DEMO-token_for_tests"
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ ", re.MULTILINE)


# -- the quick start, as the README runs it ---------------------------------------------------


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """`python -m leoweb_bot demo --script demo/quickstart.txt` with no config and no LEOWEB_*
    (TMPDIR: where the pictures go)."""
    here = tmp_path_factory.mktemp("demo")
    return subprocess.run(
        [sys.executable, "-m", "leoweb_bot", "demo", "--script", str(QUICKSTART)],
        cwd=here,
        env=leoweb_env(TMPDIR=str(here)),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_quickstart_runs_cleanly(quickstart: subprocess.CompletedProcess[str]) -> None:
    assert quickstart.returncode == 0, quickstart.stderr
    assert "Traceback" not in quickstart.stdout + quickstart.stderr
    assert "\x1b[" not in quickstart.stdout  # not a terminal: no ANSI codes
    assert not LOG_LINE.search(quickstart.stdout + quickstart.stderr)
    assert "журнал" not in quickstart.stdout  # nothing was logged, so no log file is named


def test_quickstart_shows_the_overdue_report(
    quickstart: subprocess.CompletedProcess[str],
) -> None:
    out = quickstart.stdout
    report = out[out.index("> /report") : out.index("> 1")]
    assert "Просроченные задачи на" in report
    assert "(Asia/Almaty)" in report
    assert re.search(r"Зелимхан — \d+", report)
    assert re.search(r"Всего просрочено: \d+", report)
    assert re.search(r"\[1\] \S+ \(\d+\)", report)  # manager buttons as numbered choices


def test_quickstart_drills_down_into_a_manager(
    quickstart: subprocess.CompletedProcess[str],
) -> None:
    out = quickstart.stdout
    first_button = re.search(r"\[1\] (\S+) \((\d+)\)", out)
    assert first_button is not None
    name, count = first_button.groups()
    drill = out[out.index("> 1") : out.index("> /funnel")]
    assert f"нажата кнопка «{name} ({count})»" in drill
    assert "изменено" in drill  # the report message is edited into the manager's list
    assert f"{name} — просрочено {count}" in drill
    assert DAYS_OVERDUE.search(drill)
    assert LEAD_LINK.search(drill)


def test_quickstart_saves_the_chart_as_a_picture_and_prints_where(
    quickstart: subprocess.CompletedProcess[str],
) -> None:
    out = quickstart.stdout
    chart = out[out.index("> /chart") : out.index("> role manager")]
    saved = re.search(r"🖼 картинка: (\S+\.png)", chart)
    assert saved, chart
    png = Path(saved.group(1)).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert re.search(r"Просрочено задач: \d+\nна \d\d\.\d\d\.\d{4} \d\d:\d\d", chart)
    assert "[1] 📈 За 8 недель" in chart


def test_quickstart_shows_a_manager_their_tasks(
    quickstart: subprocess.CompletedProcess[str],
) -> None:
    out = quickstart.stdout
    manager = out[out.index("> role manager") :]
    assert f"Telegram id {MANAGER_ID}" in manager
    assert "Ваши задачи на" in manager
    assert "Закрыть задачу?" in manager  # ✅ asks first, naming the task
    assert "ⓘ ✅ Закрыта задача «" in manager  # "Закрыть" closed it in the sandbox


def test_log_lines_go_to_a_file_named_once_not_into_the_chat(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("role менеджер\n/done 1\n/done 2\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "leoweb_bot", "demo", "--script", str(script)],
        cwd=tmp_path,
        env=leoweb_env(TMPDIR=str(tmp_path), LEOWEB_LOG_LEVEL="INFO"),  # TMPDIR: the log's folder
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert not LOG_LINE.search(result.stdout + result.stderr)
    (log,) = tmp_path.glob("leoweb-demo-*.log")
    assert result.stdout.count("(журнал демо: ") == 1
    assert f"(журнал демо: {log})" in result.stdout
    assert len(LOG_LINE.findall(log.read_text(encoding="utf-8"))) == 2  # one per /done


def test_the_log_file_is_made_at_the_first_line_and_named_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    named: list[str] = []
    log = DeferredFile(named.append)
    assert (named, list(tmp_path.iterdir())) == ([], [])  # nothing logged: no file
    log.write("one\n")
    log.write("two\n")
    (path,) = tmp_path.iterdir()
    assert named == [str(path)]
    assert path.read_text(encoding="utf-8") == "one\ntwo\n"


def test_a_missing_script_is_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leoweb_bot", "demo", "--script", "nope.txt"],
        cwd=tmp_path,
        env=leoweb_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: cannot read the script nope.txt")
    assert "Traceback" not in result.stderr


# -- wiring -----------------------------------------------------------------------------------


def test_demo_manager_is_zelimkhan_or_the_first_seller() -> None:
    users = [
        {"id": 1, "name": "Администратор", "rights": {"is_admin": True}},
        {"id": 2, "name": "Милана", "rights": {"is_admin": False}},
        {"id": 3, "name": "Зелимхан", "rights": {"is_admin": False}},
    ]
    assert demo_manager_id(users) == 3
    assert demo_manager_id(users[:2]) == 2


# -- the terminal chat in-process -------------------------------------------------------------


def test_numbers_press_buttons_and_roles_switch() -> None:
    out = io.StringIO()
    lines = ["/report", "99", "role manager", "1", "/report Милана", "role nobody", "/quit", "x"]
    assert run_in_terminal(lines, "ru", out=out, echo=True) == 0
    text = out.getvalue()
    assert "(здесь нет кнопок с таким номером)" in text  # 99: no such button
    # The manager's own chat has no buttons yet, so "1" presses nothing there.
    after_switch = text[text.index("> role manager") :]
    assert after_switch.index("здесь нет кнопок") < after_switch.index("> /report Милана")
    assert "Вам доступны только ваши задачи." in after_switch  # /report NAME is for directors
    assert "(роль: руководитель, менеджер или администратор" in text
    assert "> x" not in text  # /quit ended the chat
    assert f"Telegram id {DIRECTOR_ID}" not in text  # the default role needs no announcement


def test_the_demo_admin_is_an_admin() -> None:
    out = io.StringIO()
    assert run_in_terminal(["role админ", "/whoami"], "ru", out=out, echo=True) == 0
    assert f"Вы — администратор. Telegram id {ADMIN_ID}." in out.getvalue()
    assert "Роль: администратор" in out.getvalue()  # what the bot itself says: [access] agrees


def test_a_second_person_opens_an_invite_link_and_is_in() -> None:
    out = io.StringIO()
    chat_lines = ["/invite manager Милана"]
    with demo_crm() as crm:
        telegram = TerminalTelegram(out, lang="ru")
        settings = demo_settings(crm, "ru", directors=(DIRECTOR_ID,))
        chat = TerminalChat(demo_route(crm, settings, telegram), telegram, "Зелимхан")
        for line in chat_lines:
            chat.handle(line)
        link = re.search(r"https://t\.me/leoweb_demo_bot\?start=\S+", out.getvalue())
        assert link, out.getvalue()
        for line in ["as Айдана", link.group(0), "/mytasks", "role director", "/people"]:
            assert chat.handle(line)
    text = out.getvalue()
    assert "Вы — Айдана, новый человек. Telegram id 5001." in text
    assert "Здравствуйте, Айдана!" in text and "Ваша роль: менеджер." in text
    assert f"· в чат id {DIRECTOR_ID} ──\n✅ Айдана, id 5001 вошёл в бот" in text
    assert "Ваши задачи" in text  # Милана's own tasks
    assert "• Айдана, id 5001 → Милана — с " in text  # /people, as the director
    assert chat.failures == 0


def test_a_second_person_asks_and_the_director_lets_them_in() -> None:
    out = io.StringIO()
    script = ["as Бекзат /start", "role director", "2", "as Бекзат", "/whoami"]
    assert run_in_terminal(script, "ru", out=out, echo=True) == 0
    text = out.getvalue()
    assert "Я спросил руководителя — ответ придёт сюда." in text
    assert "✅ Впущен: руководитель. Решение: id 1001" in text
    assert "Роль: руководитель" in text.split("> /whoami")[-1]


def test_the_first_question_takes_a_number_or_a_role_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["стажёр", "админ", "2", ""])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    words = CONSOLE["ru"]
    assert ask_role(words) == "admin"
    assert capsys.readouterr().out == words["bad_role"] + "\n"
    assert (ask_role(words), ask_role(words)) == ("manager", "director")


# -- the demo in (fake) Telegram --------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as api:
        yield api


def private_message(user: int, text: str) -> dict[str, object]:
    return {
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": user, "type": "private"},
            "from": {"id": user, "is_bot": False, "first_name": "T"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        }
    }


def test_the_first_to_send_start_becomes_director(
    fake: FakeBotAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    telegram = Telegram(TOKEN, fake.url, per_chat_interval=0)
    stop = threading.Event()
    with demo_crm() as crm:
        poller = threading.Thread(target=poll_demo, args=(crm, telegram, TOKEN, "ru", stop))
        poller.start()
        try:
            fake.push_update(private_message(555, "/start"))
            fake.push_update(private_message(555, "/report"))
            fake.push_update(private_message(555, "/chart"))
            fake.push_update(private_message(777, "/start"))
            assert fake.wait_for(lambda: any("Всего просрочено" in m for m in fake.messages(555)))
            assert fake.wait_for(lambda: fake.photos(555), timeout=20)  # the real photo
            assert fake.wait_for(
                lambda: any("id <code>777</code>" in m for m in fake.messages(555))
            )
        finally:
            stop.set()
            fake.close()  # ends the long poll in flight
            poller.join(10)
    assert not poller.is_alive()
    # anyone else asks the director, who gets a card to let them in
    assert fake.messages(777) == ["Я спросил руководителя — ответ придёт сюда."]
    assert "Telegram user 555 sent /start and is now the director." in capsys.readouterr().out


def test_start_sender_only_counts_private_start() -> None:
    assert start_sender({"update_id": 1, **private_message(5, "/start")}) == 5
    assert start_sender({"update_id": 1, **private_message(5, "/start ref")}) == 5
    assert start_sender({"update_id": 1, **private_message(5, "/report")}) is None
    group = private_message(5, "/start")
    group["message"]["chat"] = {"id": -1, "type": "group"}  # type: ignore[index]
    assert start_sender({"update_id": 1, **group}) is None
    assert start_sender({"update_id": 1, "callback_query": {}}) is None


def test_a_malformed_token_is_refused() -> None:
    with pytest.raises(CliError, match="does not look like a bot token") as refused:
        run_in_telegram("no-colon", "ru")
    assert refused.value.code == 2


def test_a_bot_with_a_webhook_is_left_alone(fake: FakeBotAPI) -> None:
    fake.webhook_info["url"] = "https://bot.example.com/telegram/webhook"
    with pytest.raises(CliError, match="webhook set"):
        run_in_telegram(TOKEN, "ru", api_url=fake.url)
    assert not fake.calls("getUpdates") and not fake.calls("deleteWebhook")


def test_a_refused_token_is_one_line_error(fake: FakeBotAPI) -> None:
    fake.fail_next("getMe", 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    with pytest.raises(TelegramError) as refused:
        run_in_telegram(TOKEN, "ru", api_url=fake.url)
    line = failure(refused.value)[0]
    assert "Unauthorized; check telegram.token" in line and TOKEN not in line
