# ecstore as a container image that needs no base image from a registry: the
# static binary is built on the host first, then copied into an empty image.
#
#   CGO_ENABLED=0 GOOS=linux go build -o deploy/ecstore ./cmd/ecstore
#   docker build -t ecstore:local .
#
# docker-compose.yml runs a 6-node cluster of it (see README, "Cluster").
FROM scratch

# /data/d1 and /data/d2 are empty drive folders owned by the runtime user, so
# that a fresh named volume mounted there (Docker copies the mount point's
# owner into it) is writable without a chown, which scratch cannot run; so
# is /certs, where `ecstore certs` writes the cluster's TLS certificates.
COPY --chown=65532:65532 deploy/rootfs/ /
COPY deploy/ecstore /usr/local/bin/ecstore

# Not root: a fixed numeric uid/gid, as there is no /etc/passwd.
USER 65532:65532
VOLUME ["/data/d1", "/data/d2"]
# 9000: S3 (ecstore gateway, ecstore server); 9100: internode (ecstore node).
EXPOSE 9000 9100
ENTRYPOINT ["/usr/local/bin/ecstore"]
CMD ["--help"]
