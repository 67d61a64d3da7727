"""Deployment files: the Dockerfile's own pip commands run in a fresh virtual environment and
`leoweb-bot serve` from it answers /healthz; compose, Caddy and systemd agree with the contract.

There is no Docker engine on the CI machines, so the image is stood in for by a venv built with
exactly the Dockerfile's RUN lines (parsed from the file, so they cannot drift apart).
"""

from __future__ import annotations

import glob
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from leoweb_bot import __version__
from leoweb_bot.config import settings_from_mapping
from leoweb_bot.service import server
from tests.conftest import leoweb_env
from tests.kit.paths import ROOT

HEALTH_TIMEOUT = 60.0


# -- reading the Dockerfile -------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    name: str
    args: str


def dockerfile_stages(text: str) -> list[list[Instruction]]:
    """Instructions per stage, continuation lines joined and comments dropped."""
    stages: list[list[Instruction]] = []
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    for line in logical:
        name, _, args = line.partition(" ")
        if name.upper() == "FROM":
            stages.append([])
        stages[-1].append(Instruction(name.upper(), args.strip()))
    return stages


def env_of(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage:
        if instruction.name == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(instruction.args))
    return env


def runs_with(stage: list[Instruction], needle: str) -> list[str]:
    """The one RUN command (up to the first &&) that contains ``needle``, as argv."""
    found = [i.args.split("&&")[0] for i in stage if i.name == "RUN" and needle in i.args]
    assert len(found) == 1, f"expected one RUN with {needle!r}, found {found}"
    return shlex.split(found[0])


def only(stage: list[Instruction], name: str) -> str:
    found = [i.args for i in stage if i.name == name]
    assert len(found) == 1, f"expected one {name}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def stages() -> list[list[Instruction]]:
    return dockerfile_stages((ROOT / "Dockerfile").read_text(encoding="utf-8"))


# -- static checks (fast) ---------------------------------------------------------------------


def test_dockerfile_builds_a_wheel_then_installs_it_on_slim_python(
    stages: list[list[Instruction]],
) -> None:
    build, runtime = stages
    assert only(build, "FROM") == "python:3.11-slim AS build"
    assert only(runtime, "FROM") == "python:3.11-slim"
    wheel = runs_with(build, "pip wheel")
    assert wheel[:4] == ["python", "-m", "pip", "wheel"] and "--no-deps" in wheel
    install = runs_with(runtime, "pip install")
    assert install[:4] == ["python", "-m", "pip", "install"] and install[-1] == "/wheels/*.whl"
    assert "COPY --from=build /wheels /wheels" in [f"COPY {i.args}" for i in runtime]


def test_dockerfile_runtime_contract(stages: list[list[Instruction]]) -> None:
    runtime = stages[1]
    assert only(runtime, "USER") == "leoweb"
    assert only(runtime, "WORKDIR") == "/data"
    assert json.loads(only(runtime, "VOLUME")) == ["/data"]
    assert only(runtime, "EXPOSE") == "8080"
    assert json.loads(only(runtime, "CMD")) == ["leoweb-bot", "serve"]
    healthcheck = only(runtime, "HEALTHCHECK")
    assert json.loads(healthcheck.split(" CMD ", 1)[1])[:2] == ["python", "-c"]


def test_dockerfile_environment_names_real_settings(stages: list[list[Instruction]]) -> None:
    env = env_of(stages[1])
    assert env["LEOWEB_CONFIG"] == "/config/config.toml"
    settings = settings_from_mapping({}, env)  # a misspelt LEOWEB_* would be silently ignored
    assert settings.bot.state_path == "/data/leoweb-bot.sqlite3"
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 8080)


def test_dockerignore_lets_in_only_what_the_build_copies(
    stages: list[list[Instruction]],
) -> None:
    text = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    patterns = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert patterns[0] == "**"  # everything is left out unless let in below
    for instruction in stages[0]:
        if instruction.name == "COPY":
            for source in shlex.split(instruction.args)[:-1]:
                assert f"!{source}" in patterns


def test_compose_puts_caddy_with_tls_in_front_of_the_bot() -> None:
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    bot, caddy = compose["services"]["bot"], compose["services"]["caddy"]
    assert bot["build"] == "."
    assert "./config.toml:/config/config.toml:ro" in bot["volumes"]
    assert "bot-data:/data" in bot["volumes"]
    assert "ports" not in bot  # only Caddy is published
    assert "443:443" in caddy["ports"] and "80:80" in caddy["ports"]
    assert caddy["depends_on"]["bot"]["condition"] == "service_healthy"
    assert caddy["environment"]["LEOWEB_UPSTREAM"] == "bot:8080"
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert "caddy-data:/data" in caddy["volumes"]  # certificates survive a restart
    assert set(compose["volumes"]) == {"bot-data", "caddy-data", "caddy-config"}


def test_caddy_exposes_only_the_bot_routes() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert "{$BOT_DOMAIN:bot.example.com} {" in caddyfile
    assert "@bot path /telegram/webhook /amocrm/webhook/* /healthz" in caddyfile
    assert "reverse_proxy {$LEOWEB_UPSTREAM:127.0.0.1:8080}" in caddyfile
    assert "respond 404" in caddyfile
    code = [line for line in caddyfile.splitlines() if not line.lstrip().startswith("#")]
    assert not any(line.strip().startswith("log") for line in code)  # paths carry a secret


def test_caddy_reads_whole_requests_and_lets_the_bot_close_idle_connections_first() -> None:
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"^\s*request_buffers 1MB$", caddyfile, re.MULTILINE)
    keepalive = re.search(r"^\s*keepalive (\d+)s$", caddyfile, re.MULTILINE)
    assert keepalive is not None and int(keepalive.group(1)) < server.KEEPALIVE_SECONDS


def test_the_server_listens_on_loopback_unless_told_otherwise() -> None:
    assert settings_from_mapping({}).server.host == "127.0.0.1"


def unit_settings() -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    text = (ROOT / "deploy" / "leoweb-bot.service").read_text(encoding="utf-8")
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def test_systemd_unit_runs_serve_as_a_dedicated_hardened_user() -> None:
    unit = unit_settings()
    assert unit["ExecStart"] == ["/opt/leoweb-bot/venv/bin/leoweb-bot serve"]
    assert unit["User"] == ["leoweb"]
    assert unit["StateDirectory"] == ["leoweb-bot"]
    assert unit["Restart"] == ["on-failure"]
    env = dict(value.split("=", 1) for value in unit["Environment"])
    assert env["LEOWEB_CONFIG"] == "/etc/leoweb-bot/config.toml"
    settings = settings_from_mapping({}, env)
    assert settings.bot.state_path == "/var/lib/leoweb-bot/leoweb-bot.sqlite3"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallFilter": "@system-service",
        "CapabilityBoundingSet": "",
    }.items():
        assert unit[key] == [value], key
    assert "ReadWritePaths" not in unit  # StateDirectory is the only writable place


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    # verify insists that ExecStart exists; point it at this interpreter, keep the rest.
    text = (ROOT / "deploy" / "leoweb-bot.service").read_text(encoding="utf-8")
    unit = tmp_path / "leoweb-bot.service"
    unit.write_text(text.replace("/opt/leoweb-bot/venv/bin/leoweb-bot", sys.executable))
    verify = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=30
    )
    assert verify.returncode == 0, verify.stderr
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
    if exposure is None:
        pytest.skip("this systemd-analyze cannot score a unit file offline")
    assert float(exposure.group(1)) <= 2.0


# -- the image, stood in for by a venv (slow) -------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_build_context(build: list[Instruction], src: Path) -> None:
    """Do the build stage's COPY lines into ``src`` (its WORKDIR)."""
    for instruction in build:
        if instruction.name != "COPY":
            continue
        *sources, dest = shlex.split(instruction.args)
        for source in sources:
            target = src / dest / source if dest.endswith("/") else src / dest
            origin = ROOT / source
            if origin.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
                shutil.copytree(origin, target, ignore=ignore)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)


def docker_path(value: str, root: Path) -> str:
    """Map the image's absolute paths (/wheels, /data, /config) into ``root``."""
    return str(root / value.lstrip("/")) if value.startswith("/") else value


def health(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_healthy(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"leoweb-bot serve exited with {proc.returncode} before /healthz answered")
        if health(url) == 200:
            return
        time.sleep(0.2)
    pytest.fail(f"/healthz did not answer 200 within {HEALTH_TIMEOUT:.0f} s")


@pytest.mark.e2e
def test_the_image_recipe_installs_and_serves_healthz(
    stages: list[list[Instruction]], tmp_path: Path
) -> None:
    build, runtime = stages
    root = tmp_path / "image"
    src = tmp_path / "src"
    copy_build_context(build, src)
    venv = tmp_path / "venv"
    # The venv stands in for the runtime image; create it while the wheel builds.
    making_venv = subprocess.Popen([sys.executable, "-m", "venv", str(venv)])
    try:
        wheel = [docker_path(arg, root) for arg in runs_with(build, "pip wheel")]
        subprocess.run(
            [sys.executable, *wheel[1:]], cwd=src, check=True, capture_output=True, timeout=120
        )
    finally:
        assert making_venv.wait(timeout=120) == 0
    python = str(venv / "bin" / "python")
    install = [docker_path(arg, root) for arg in runs_with(runtime, "pip install")]
    args = [match for arg in install[1:] for match in (glob.glob(arg) if "*" in arg else [arg])]
    assert len(args) == len(install) - 1, "the wheel was not built where the install looks"
    subprocess.run([python, *args], check=True, capture_output=True, timeout=180)

    port = free_port()
    unused = f"http://127.0.0.1:{free_port()}"  # nothing listens: serve must not need it
    # The image's LEOWEB_* settings, paths moved under tmp; its PIP_* and PYTHON* variables are
    # left out (they change caching and buffering, not what gets installed or how it runs).
    image_env = {k: docker_path(v, root) for k, v in env_of(runtime).items() if "LEOWEB" in k}
    (root / "data").mkdir(parents=True)
    env = leoweb_env(
        **{
            **image_env,
            "LEOWEB_SERVER_HOST": "127.0.0.1",  # the image listens on 0.0.0.0; tests on loopback
            "LEOWEB_SERVER_PORT": str(port),
            "LEOWEB_SERVER_WORKERS": "1",
            "LEOWEB_TELEGRAM_TOKEN": "123456789:AAFakeTokenForTheDeployTest_abcdefgh",
            "LEOWEB_TELEGRAM_WEBHOOK_SECRET": "deploy-test-secret",
            "LEOWEB_TELEGRAM_API_URL": unused,
            "LEOWEB_AMOCRM_BASE_URL": unused,
            "LEOWEB_AMOCRM_TOKEN": "deploy-test-token",
        }
    )
    command = json.loads(only(runtime, "CMD"))
    proc = subprocess.Popen(
        [str(venv / "bin" / command[0]), *command[1:]],
        cwd=root / "data",
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        wait_healthy(proc, url)
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "ok" and body["version"] == __version__
        assert (root / "data" / "leoweb-bot.sqlite3").exists()  # the state db is on the volume
        # The image's HEALTHCHECK command, run as Docker would run it.
        healthcheck = json.loads(only(runtime, "HEALTHCHECK").split(" CMD ", 1)[1])
        probe = subprocess.run([python, *healthcheck[1:]], env=env, timeout=30)
        assert probe.returncode == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=40) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
