# The API image; the worker runs from the same image with another command (see compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/firstscan
RUN useradd --system --uid 10001 --no-create-home firstscan

COPY pyproject.toml README.md ./
COPY app ./app
COPY carriers ./carriers
RUN pip install . && rm -rf app carriers build
COPY alembic.ini ./
COPY migrations ./migrations

USER firstscan
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]

CMD ["sh", "-c", "firstscan migrate && exec firstscan serve --host 0.0.0.0 --port 8000"]
