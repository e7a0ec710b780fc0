# Multi-stage build: compile on Debian 12 with the -dev packages, run on a slim Debian 12 with
# only the runtime libraries. Data lives in the /data volume.
FROM debian:12 AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config liblmdb-dev libprotobuf-c-dev protobuf-c-compiler \
      libevent-dev libxxhash-dev libjansson-dev libssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCIRRUS_TESTS=OFF \
    && cmake --build /build -j"$(nproc)" \
    && install -s -m 0755 /build/server/cirrusd /build/tools/cirrus /usr/local/bin/

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      liblmdb0 libprotobuf-c1 libevent-2.1-7 libevent-core-2.1-7 libevent-pthreads-2.1-7 \
      libevent-extra-2.1-7 libxxhash0 libjansson4 libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /data cirrus && mkdir -p /data && chown cirrus /data
COPY --from=build /usr/local/bin/cirrusd /usr/local/bin/cirrus /usr/local/bin/
USER cirrus
VOLUME /data
EXPOSE 7070 8000
ENTRYPOINT ["cirrusd", "--data", "/data", "--listen", "0.0.0.0:7070", "--http", "0.0.0.0:8000"]
