# Sourced by .ci/run: Debian packages installed without starting their services, and a private
# PostgreSQL cluster on loopback for the tests (its own folder, port and socket; the system's
# clusters are left alone).

# apt-get install without starting services: Debian's maintainer scripts ask policy-rc.d,
# and 101 means "not now". Whatever started anyway is stopped after.
install_without_services() {
    local policy=/usr/sbin/policy-rc.d saved=""
    if [ -e "$policy" ]; then saved=$(mktemp); cp -p "$policy" "$saved"; fi
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    local status=0
    apt-get install -y -qq "$@" >/dev/null || status=$?
    if [ -n "$saved" ]; then mv "$saved" "$policy"; else rm -f "$policy"; fi
    stop_system_services
    return "$status"
}

# The system's own nginx (its pid file) and PostgreSQL clusters, if they run.
stop_system_services() {
    if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
        /usr/sbin/nginx -s quit || true
    fi
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters --no-header 2>/dev/null | while read -r version name _port status _rest; do
            if [ "$status" = online ]; then pg_ctlcluster "$version" "$name" stop || true; fi
        done
    fi
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Start a throwaway cluster (trust on loopback only, no fsync) and export
# MARGIN_LAB_TEST_DATABASE_URL for the tests; stop_test_postgres removes it.
start_test_postgres() {
    PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
    if [ ! -x "$PG_BIN/initdb" ]; then
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    fi
    PG_TEST_DIR=$(mktemp -d /tmp/margin-lab-postgres.XXXXXX)
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_TEST_DIR"; fi
    PG_TEST_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (
        cd "$PG_TEST_DIR"
        as_postgres "$PG_BIN/initdb" -D "$PG_TEST_DIR/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -l "$PG_TEST_DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $PG_TEST_PORT -k $PG_TEST_DIR -c fsync=off" start >/dev/null
        as_postgres "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_TEST_PORT" -U postgres margin_lab_test
    )
    export MARGIN_LAB_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_TEST_PORT/margin_lab_test"
    echo "PostgreSQL for the tests: 127.0.0.1:$PG_TEST_PORT (${PG_BIN%/bin})"
}

stop_test_postgres() {
    if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR" ]; then
        (cd "$PG_TEST_DIR" && as_postgres "$PG_BIN/pg_ctl" -D "$PG_TEST_DIR/data" -m fast -w stop >/dev/null 2>&1) || true
        rm -rf "$PG_TEST_DIR"
    fi
}
