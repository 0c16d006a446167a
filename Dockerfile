# The image every Kubeflow task runs: the project and its locked environment.
#   docker build -t REGISTRY/y8m-pipeline:TAG .
#   y8m compile --image REGISTRY/y8m-pipeline:TAG ...
# A GPU variant for trainers and the distiller: build with
#   --build-arg TENSORFLOW_EXTRA=and-cuda   and pass it as `y8m compile --gpu-image`.
FROM python:3.11-slim-bookworm

ARG UV_VERSION=0.13.9
ARG TENSORFLOW_EXTRA=""
ENV UV_PROJECT_ENVIRONMENT=/opt/y8m/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PIP_NO_CACHE_DIR=1
RUN python -m pip install "uv==${UV_VERSION}"

WORKDIR /opt/y8m/src
# Dependencies first (their layer is reused while only the code changes), from the lock file.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY y8m_types.py ./
COPY common ./common
COPY y8m ./y8m
COPY pipeline ./pipeline
COPY components ./components
COPY models ./models
COPY schemas ./schemas
RUN uv sync --frozen --no-dev --no-editable \
 && if [ -n "${TENSORFLOW_EXTRA}" ]; then \
      uv pip install --python /opt/y8m/venv/bin/python "tensorflow[${TENSORFLOW_EXTRA}]==2.21.0"; \
    fi

# The compiled tasks call `python -m pipeline.kubeflow_entrypoint`: the venv's python.
ENV PATH=/opt/y8m/venv/bin:${PATH} \
    TF_USE_LEGACY_KERAS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    GRPC_ENABLE_FORK_SUPPORT=false \
    PYTHONUNBUFFERED=1

# Not root; artifacts go to the launcher's /minio, /s3 or /gcs folders and gs:// URIs.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin y8m \
 && mkdir -p /minio /s3 /gcs && chown y8m /minio /s3 /gcs
USER 10001
WORKDIR /home/y8m
CMD ["y8m", "--help"]
