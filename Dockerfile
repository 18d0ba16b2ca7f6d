# The production image: one image for web (gunicorn), worker and beat (docker-compose.yml).

FROM node:20-bookworm-slim AS frontend
WORKDIR /build
COPY package.json package-lock.json static-build.js ./
RUN npm ci --no-audit --no-fund --omit=dev

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Pango and fonts are WeasyPrint's system dependencies for PDF reports.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 ilcop
WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
RUN pip install --no-cache-dir -c requirements.lock .
COPY --chown=ilcop:ilcop . .
COPY --from=frontend --chown=ilcop:ilcop /build/node_modules ./node_modules
RUN ILCOP_ENVIRONMENT=production DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput
USER ilcop
EXPOSE 8000
CMD ["gunicorn", "ilcop.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
