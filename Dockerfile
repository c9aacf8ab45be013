# syntax=docker/dockerfile:1
# Build stage: build the wheel (it carries templates, static files, migrations and catalogues,
# mapped into the package by pyproject.toml) and install it with the pinned dependencies.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install -c constraints.txt /wheels/bourse-*.whl

# Runtime stage: the virtual environment alone; no sources, no compilers.
FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BOURSE_ENV=production \
    BOURSE_DATA_DIR=/data
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin bourse \
    && mkdir -p /data && chown bourse /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /data
USER bourse
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
# Behind a reverse proxy: `bourse serve` believes X-Forwarded-For / X-Forwarded-Proto only
# from the addresses in FORWARDED_ALLOW_IPS (or --forwarded-allow-ips); the default,
# 127.0.0.1,::1, fits only a proxy inside this container. A proxy in another container or on
# another host connects from its own address: set FORWARDED_ALLOW_IPS to it (addresses or
# networks, comma-separated), e.g. `docker run -e FORWARDED_ALLOW_IPS=172.18.0.2 …`. Otherwise
# every visitor has the proxy's address, and one person's failed logins (20 per address in 15
# minutes) lock password logins for everyone. Never '*' unless port 8000 is reachable from the
# proxy alone: anyone else could then choose their address.
# ENV FORWARDED_ALLOW_IPS=172.18.0.2
# BOURSE_SECRET_KEY must be provided (the server refuses to start without it in production).
CMD ["sh", "-c", "bourse migrate && exec bourse serve --host 0.0.0.0 --port 8000"]
