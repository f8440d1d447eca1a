# syntax=docker/dockerfile:1
# spaces-mcp as a service: a static binary (musl) on a minimal base, run as a
# non-root user, serving Streamable HTTP (/mcp) and legacy SSE (/sse) on port
# 8000. The tools' config is a mounted file (SPACES_MCP_CONFIG); without one,
# the built-in spaces.toml is used. See compose.yaml for tokens as secrets.
#
#   docker build -t spaces-mcp .
#   docker run -p 8000:8000 -e SPACES_MCP_ALLOWED_HOSTS=mcp.example.com spaces-mcp

FROM rust:1.95-bookworm AS build
ARG TARGETARCH=amd64
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 cmake=3.25.1-1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-musl ;; \
      arm64) target=aarch64-unknown-linux-musl ;; \
      *) echo "unsupported architecture: $TARGETARCH" >&2; exit 1 ;; \
    esac \
 && rustup target add "$target" \
 && cargo build --locked --release --target "$target" --bin spaces-mcp \
 && cp "target/$target/release/spaces-mcp" /spaces-mcp

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /spaces-mcp /usr/local/bin/spaces-mcp
ENV SPACES_MCP_TRANSPORT=http \
    SPACES_MCP_LISTEN=0.0.0.0:8000 \
    RUST_LOG=spaces_mcp=info,warn
# The distroless image's "nonroot" user, by number.
USER 65532:65532
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=6s --start-period=5s --retries=3 \
  CMD ["/usr/local/bin/spaces-mcp", "health", "http://127.0.0.1:8000/health"]
ENTRYPOINT ["/usr/local/bin/spaces-mcp"]
CMD ["serve"]
