# syntax=docker/dockerfile:1
# The API image (also runs migrations and the worker): runtime dependencies only, non-root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FORWARDED_ALLOW_IPS=""

RUN groupadd --system --gid 10001 trantib \
    && useradd --system --uid 10001 --gid trantib --home-dir /srv/trantib --shell /usr/sbin/nologin trantib

WORKDIR /srv/trantib

# Dependencies first, in their own layer, so a code change does not reinstall them: the
# exact releases of the lock file, each checked against its hash.
COPY pyproject.toml requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY app/ app/
RUN pip install --no-deps . && rm -rf build ./*.egg-info
COPY migrations/ migrations/
COPY alembic.ini ./

# Attachments live under var/; compose mounts a volume there, owned by the service user.
RUN mkdir -p var/attachments && chown -R trantib:trantib var

USER trantib
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]

# Client addresses come from X-Forwarded-For only when sent by FORWARDED_ALLOW_IPS (uvicorn
# reads it; empty above, so no proxy is believed until the load balancer's address is set).
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers", "--no-server-header"]
