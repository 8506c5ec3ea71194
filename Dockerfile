# syntax=docker/dockerfile:1
#
# Weld Assistant: one small image that serves the web app and its /api on :8080.
#
#   docker build -t weld-assistant .
#   docker run -d --name weld -p 127.0.0.1:8080:8080 --env-file .env weld-assistant
#
# Three stages: Node builds frontend/dist, Rust builds the release binary with that
# dist embedded (WELD_SKIP_FRONTEND_BUILD=1, so build.rs does not need npm), and a
# distroless runtime (glibc, libgcc, CA certificates, no shell) runs it as a
# non-root user. Nothing secret is baked in: the key and the session secret come
# from the environment (or a mounted TOML file) when the container starts.
# See docs/deploy.md.
#
# The base images are pinned by version. distroless publishes no version tags:
# pin it by digest for reproducible builds, e.g.
#   docker buildx imagetools inspect gcr.io/distroless/cc-debian12:nonroot
#   docker build --build-arg RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot@sha256:<digest> .
ARG NODE_IMAGE=docker.io/library/node:20.19-bookworm-slim
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---------------------------------------------------------------- web app
FROM ${NODE_IMAGE} AS web
WORKDIR /src/frontend
# Dependencies first: this layer is reused until package-lock.json changes.
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
# typecheck + vite build (+ .br/.gz twins) into /src/frontend/dist
RUN npm run build

# ---------------------------------------------------------------- binary
FROM ${RUST_IMAGE} AS build
WORKDIR /src
ENV WELD_SKIP_FRONTEND_BUILD=1 \
    CARGO_TERM_COLOR=never \
    CARGO_REGISTRIES_CRATES_IO_PROTOCOL=sparse
# Dependencies first: build them against a stub crate, so this layer is reused
# until Cargo.toml or Cargo.lock changes. The stub's own artifacts are removed
# afterwards so the real sources are always rebuilt.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bin weld-assistant \
 && rm -rf src target/release/weld-assistant* \
           target/release/.fingerprint/weld-assistant-* \
           target/release/deps/weld_assistant-* \
           target/release/deps/libweld_assistant-* \
           target/release/build/weld-assistant-*
COPY src/ src/
COPY --from=web /src/frontend/dist/ frontend/dist/
RUN cargo build --release --locked --bin weld-assistant \
 && install -D -m 0755 target/release/weld-assistant /out/weld-assistant \
 && /out/weld-assistant --version \
 && install -d -m 0700 -o 65532 -g 65532 /out/data/tls

# ---------------------------------------------------------------- runtime
FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Weld Assistant" \
      org.opencontainers.image.description="Welding-expert chat and weld photo analysis; one binary serving the web app and /api, calling Google Gemini server-side" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.documentation="docs/deploy.md"
COPY --from=build /out/weld-assistant /usr/local/bin/weld-assistant
# The certificate cache (account key, certificates) of HTTPS of its own, owned by
# the server's user, so a named volume on /data starts out writable for it.
COPY --from=build --chown=65532:65532 /out/data/ /data/
# 0.0.0.0 inside the container. With WELD_DOMAIN set the server serves HTTPS on
# 8443 itself (publish it as 443) and 8080 redirects (publish it as 80); without,
# publish 8080 on the host's loopback and put a TLS proxy in front (docs/deploy.md).
ENV WELD_LISTEN=0.0.0.0:8080 \
    WELD_HTTPS_LISTEN=0.0.0.0:8443 \
    WELD_TLS_CACHE_DIR=/data/tls
# distroless's "nonroot" user; numeric so that runAsNonRoot-style checks can see it.
# It cannot bind ports below 1024, hence 8080 and 8443.
USER 65532:65532
EXPOSE 8080 8443
# Keep it across upgrades: a new certificate per start runs into Let's Encrypt's limits.
VOLUME ["/data"]
# `healthcheck` reads the same configuration (WELD_LISTEN, WELD_CONFIG) and GETs
# /api/health on loopback: exit 0 when the server answers. It does not call Gemini.
HEALTHCHECK --interval=30s --timeout=6s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/weld-assistant", "healthcheck"]
# SIGTERM drains in-flight requests and streams for up to 30 s, then exits 0:
# give it that long (`docker stop -t 35`, compose `stop_grace_period: 35s`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/weld-assistant"]
CMD ["serve"]
