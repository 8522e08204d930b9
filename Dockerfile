# dualnet image: the CLI, the operator (`dualnet operator run`) and the node agent (`dualnet agent`).
# Build: docker build -t ghcr.io/dualnet/dualnet:0.1.0 .   (multi-arch: docker buildx --platform
# linux/amd64,linux/arm64 — GH200 nodes are arm64)
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
# Nothing runs as root: the operator needs no host access, the agent reads host paths that are
# world-readable (sysfs, procfs, /dev listings) through read-only hostPath mounts.
COPY --from=build /install /usr/local
USER 65534:65534
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
ENTRYPOINT []
CMD ["dualnet", "--help"]
