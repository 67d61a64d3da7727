# LeoWeb_bot: the webhook server (`leoweb-bot serve`) as a container.
#
#   docker build -t leoweb-bot .
#   docker run -d --name leoweb-bot -p 127.0.0.1:8080:8080 \
#     -v "$PWD/config.toml:/config/config.toml:ro" -v leoweb-bot-data:/data leoweb-bot
#
# Put it behind a TLS reverse proxy (compose.yaml runs Caddy): Telegram only calls HTTPS on
# ports 443, 80, 88 or 8443. tests/test_deploy.py runs this file's pip commands (wheel build and
# install) in a fresh virtual environment, so keep each of them on one line.

# -- build: a wheel of this package only (its dependencies come from PyPI in the next stage) --
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY leoweb_bot ./leoweb_bot
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

# -- runtime: the wheel and its dependencies, no compilers, no sources --
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN python -m pip install --prefer-binary /wheels/*.whl && rm -rf /wheels
# A fixed uid, so a mounted config.toml (mode 600) can be given to it: chown 10001 config.toml
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin leoweb \
    && mkdir -p /data /config \
    && chown leoweb:leoweb /data \
    && chmod 700 /data
# Environment variables win over config.toml (LEOWEB_<SECTION>_<KEY>): the state db lives on
# the volume, and the server listens on all interfaces of the container on port 8080.
ENV LEOWEB_CONFIG=/config/config.toml \
    LEOWEB_BOT_STATE_PATH=/data/leoweb-bot.sqlite3 \
    LEOWEB_SERVER_HOST=0.0.0.0 \
    LEOWEB_SERVER_PORT=8080
WORKDIR /data
VOLUME ["/data"]
USER leoweb
EXPOSE 8080
# python:3.11-slim has no curl; urllib is enough. Exit 1 on anything but 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ.get('LEOWEB_SERVER_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
# Logs go to stdout (`docker logs leoweb-bot`); SIGTERM stops gunicorn gracefully.
CMD ["leoweb-bot", "serve"]
