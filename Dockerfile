# Assembly: slim, non-root; migrates then serves. All settings come from the environment
# (ASSEMBLY_ENV=production refuses missing or weak secrets, a missing ASSEMBLY_DATABASE_URL and an http
# ASSEMBLY_SITE_URL; behind a reverse proxy set ASSEMBLY_TRUSTED_PROXIES to its address).
FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements/ requirements/
RUN python -m venv /opt/assembly && /opt/assembly/bin/pip install --no-cache-dir -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY assembly/ assembly/
COPY web/ web/
COPY alembic/ alembic/
RUN /opt/assembly/bin/pip install --no-cache-dir --no-deps .

FROM python:3.11-slim
RUN useradd --system --create-home --uid 10001 assembly
COPY --from=build /opt/assembly /opt/assembly
ENV PATH=/opt/assembly/bin:$PATH \
    ASSEMBLY_ENV=production \
    ASSEMBLY_HOST=0.0.0.0 \
    ASSEMBLY_PORT=8000 \
    ASSEMBLY_VAR_DIR=/var/lib/assembly
RUN mkdir -p /var/lib/assembly && chown assembly /var/lib/assembly
USER assembly
WORKDIR /home/assembly
EXPOSE 8000
CMD ["sh", "-c", "assembly db upgrade && exec assembly serve"]
