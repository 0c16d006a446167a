# The image every Kubeflow task runs: the project and its locked environment.
#   docker build -t REGISTRY/y8m-pipeline:TAG .
#   y8m compile --image REGISTRY/y8m-pipeline:TAG ...
# A GPU variant for trainers and the distiller: build with
#   --build-arg TENSORFLOW_EXTRA=and-cuda   and pass it as `y8m compile --gpu-image`.
# The entrypoint is Beam's SDK harness boot, which Dataflow (runner v2) starts workers of
# a custom container with; Kubeflow tasks and the Flink worker pool set their own command.
# Run the CLI with: docker run --entrypoint y8m IMAGE --help
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION} AS beam-sdk

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

# Beam's boot binary (with its licenses), from the SDK image of the locked Beam version.
# It runs the workers with the image's python and packages as they are: without
# RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT it would make a fresh virtual environment, which
# sees the base interpreter's packages, not this venv's.
COPY --from=beam-sdk /opt/apache/beam /opt/apache/beam
ENV RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1

# Not root; artifacts go to the launcher's /minio, /s3 or /gcs folders and gs:// URIs.
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin y8m \
 && mkdir -p /minio /s3 /gcs && chown y8m /minio /s3 /gcs
USER 10001
WORKDIR /home/y8m
ENTRYPOINT ["/opt/apache/beam/boot"]
