# Web image (Cloud Run service): multi-stage, non-root, static files collected at build, gunicorn on $PORT.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN python -m venv /venv && /venv/bin/pip install -r requirements.txt
COPY . .
# collectstatic needs settings but no database or secrets: run it with throwaway local values.
RUN PLATFORM_DATA_DIR=/tmp/build-state /venv/bin/python manage.py collectstatic --noinput

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/venv/bin:$PATH" PORT=8080 \
    PLATFORM_ENV=production PLATFORM_DATA_DIR=/tmp/platform
RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /venv /venv
COPY --from=build --chown=app:app /app /app
USER app
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import os,urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=4)"
CMD exec gunicorn config.wsgi:application --bind "0.0.0.0:${PORT}" --workers 2 --threads 8 --timeout 120 \
    --access-logfile - --forwarded-allow-ips="*"
