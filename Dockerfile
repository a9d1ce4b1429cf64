# One image holds every zkwatch binary (.promu.yml); its entrypoint is the
# exporter, and the receiver or the agent is chosen by overriding it (the
# Helm chart does). One image means one build, one tag to pin and one CA
# bundle to refresh; the binaries share most of their code, so an image
# each would store the same libraries again and again.
#
# Built by `make image` from binaries compiled on the build host
# (CGO_ENABLED=0, so static), as Prometheus builds its images from
# .build/<os>-<arch>/: nothing is pulled, not even a base image. make
# lays out the image's tree in .build/image-<os>-<arch>/: /bin/ with the
# binaries, the build host's CA bundle (Debian's ca-certificates, for
# notifiers that speak HTTPS) and the licence.
FROM scratch

ARG OS=linux
ARG ARCH=amd64
ARG VERSION=unknown
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="zkwatch" \
      org.opencontainers.image.description="ZooKeeper exporter, Alertmanager webhook receiver and agent" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/zkwatch/zkwatch" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

COPY .build/image-${OS}-${ARCH}/ /

# nobody: no passwd file is needed for a numeric user.
USER 65534:65534
# zookeeper_exporter, zkwatch_receiver, zkwatch_agent.
EXPOSE 9141 9143 9144
ENTRYPOINT ["/bin/zookeeper_exporter"]
