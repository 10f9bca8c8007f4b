# design-coach Discord bot.
#   docker build -t design-coach .
#   docker run -d --name design-coach -e DISCORD_TOKEN=... -v design-coach-data:/data design-coach
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin design-coach

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin coach \
    && mkdir -p /data && chown coach:coach /data
COPY --from=build /src/target/release/design-coach /usr/local/bin/design-coach
USER coach
WORKDIR /data
VOLUME ["/data"]
ENV DATABASE_URL=sqlite:///data/design-coach.db \
    RUST_LOG=info
# SIGTERM (docker stop) shuts the bot down cleanly; every answer is committed as it arrives.
STOPSIGNAL SIGTERM
CMD ["design-coach", "bot"]
