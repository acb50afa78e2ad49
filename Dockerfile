# grid-svc and cust-svc in one image (docker-compose.yml runs it twice).
#
# The build stage installs deps/packages.txt, the list `make deps` installs on
# a machine, and builds with the Makefile's own `make all`, so the image is
# built exactly as a checkout is; tests/container-check.sh holds the two to
# each other. The run stage is Debian slim with the shared libraries only.
FROM debian:12-slim AS build
WORKDIR /src
COPY deps/packages.txt deps/packages.txt
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       $(sed -e 's/#.*//' deps/packages.txt) \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make all

FROM debian:12-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libmicrohttpd12 libjansson4 libpq5 libuuid1 libcurl4 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home yingpei
WORKDIR /app
COPY --from=build /src/build/grid-svc /src/build/cust-svc /src/build/bizcode /usr/local/bin/
# Where the daemons look for the console beside their own folder (CONSOLE_DIR).
COPY console /usr/local/share/yingpei/console
COPY schema schema
COPY config config
USER yingpei
ENV BIND_ADDR=0.0.0.0 \
    APPS_FILE=/app/config/apps.dev.json \
    POLICY_FILE=/app/config/policy.json
# Which daemon: docker-compose.yml names it (grid-svc or cust-svc).
CMD ["grid-svc"]
