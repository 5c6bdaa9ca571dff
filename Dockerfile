# Dockerfile: frontdesk in a small image. Two stages: Debian 12 with the
# compilers builds it; Debian 12 slim with only the runtime libraries runs it
# as a non-root user. The example knowledge base is in the image and loaded
# at start (FRONTDESK_KB); mount your own folder and point FRONTDESK_KB at it.
#   docker build -t frontdesk .
#   docker run -p 8080:8080 -v frontdesk:/var/lib/frontdesk frontdesk
#   docker exec CONTAINER frontdesk keys create --scope admin
FROM debian:12 AS build
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      build-essential cmake pkg-config libjansson-dev libsqlite3-dev libutf8proc-dev \
      libstemmer-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev libjwt-dev \
      libhiredis-dev libpq-dev libpoppler-glib-dev libzip-dev libxml2-dev libsodium-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY src src
COPY web web
COPY deploy deploy
COPY examples examples
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DFD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr \
 && cmake --build build -j "$(nproc)" \
 && DESTDIR=/out cmake --install build \
 && strip /out/usr/bin/frontdesk

FROM debian:12-slim
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      libjansson4 libsqlite3-0 libutf8proc2 libstemmer0d libssl3 libcurl4 libmicrohttpd12 \
      libjwt0 libhiredis0.14 libpq5 libpoppler-glib8 libglib2.0-0 libcairo2 libzip4 libxml2 libsodium23 \
      ca-certificates tzdata wamerican wbritish wfrench \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/frontdesk --shell /usr/sbin/nologin frontdesk \
 && mkdir -p /var/lib/frontdesk && chown 10001:10001 /var/lib/frontdesk && chmod 0700 /var/lib/frontdesk
COPY --from=build /out/usr/bin/frontdesk /usr/bin/frontdesk
COPY --from=build /out/usr/share/frontdesk /usr/share/frontdesk
COPY --from=build /out/usr/share/man/man1/frontdesk.1 /usr/share/man/man1/frontdesk.1
COPY deploy/entrypoint.sh /usr/bin/frontdesk-entrypoint
ENV FRONTDESK_DATA_DIR=/var/lib/frontdesk \
    FRONTDESK_SERVER_BIND=0.0.0.0 \
    FRONTDESK_SERVER_PORT=8080 \
    FRONTDESK_LOG_FORMAT=json \
    FRONTDESK_KB=/usr/share/frontdesk/examples/packaging-supplier
USER 10001:10001
WORKDIR /var/lib/frontdesk
VOLUME /var/lib/frontdesk
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/frontdesk-entrypoint"]
CMD ["serve"]
