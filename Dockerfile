# Loss service image: python -m service as a non-root user, configured by LOSS_SERVICE_* variables.
# Read-only-root friendly: nothing is written outside /tmp and /data (no bytecode; with several
# workers the Prometheus multiprocess files go to a fresh directory under /tmp; the run history's
# SQLite database lives in the /data volume), so it runs with
# `docker run --read-only --tmpfs /tmp -v loss-data:/data`. The base image is pinned to a patch release; pin its digest
# too (python:3.11.14-slim-bookworm@sha256:...) for byte-reproducible builds.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
RUN python -m venv /opt/venv
# Dependencies first, from pyproject.toml alone, so that a source change reuses this layer.
COPY pyproject.toml README.md ./
RUN mkdir service && touch service/__init__.py \
    && /opt/venv/bin/pip install --no-cache-dir . \
    && /opt/venv/bin/pip uninstall --yes loss-service \
    && rm -rf service build
COPY service ./service
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin loss \
    && mkdir /data && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LOSS_SERVICE_HOST=0.0.0.0 \
    LOSS_SERVICE_PORT=8000 \
    LOSS_SERVICE_DATABASE_URL=sqlite:////data/loss-service.db
VOLUME ["/data"]
USER 10001
EXPOSE 8000
# uvicorn shuts down gracefully on SIGTERM (readiness first, then in-flight requests complete).
STOPSIGNAL SIGTERM
# The slim image has no curl: probe /healthz with the standard library.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('LOSS_SERVICE_PORT', '8000') + '/healthz', timeout=2)"]
CMD ["python", "-m", "service"]
