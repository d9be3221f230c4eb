#!/usr/bin/env bash
# Two threadsock nodes sharing their chat rooms through Redis, behind nginx: one command.
#
#   examples/cluster/run.sh
#
# Starts, all on 127.0.0.1:
#   redis-server            port $REDIS_PORT (6390), no persistence
#   threadsock node A       chat $CHAT_A (7001), Socket.IO $SIO_A (3001)
#   threadsock node B       chat $CHAT_B (7002), Socket.IO $SIO_B (3002)
#   nginx                   port $NGINX_PORT (8080), examples/cluster/nginx.conf: the chat page
#                           and /socket.io/ to both nodes, sticky by client address
# then waits; Ctrl-C stops everything. Every port can be changed through the environment, e.g.
# `NGINX_PORT=8888 examples/cluster/run.sh`. THREADSOCK=path runs that binary instead of
# building one with `cargo build --release`.
#
# Open http://127.0.0.1:8080/ in two browser tabs and chat; `nc 127.0.0.1 7001` and
# `nc 127.0.0.1 7002` join the same lobby from each node. nginx's access log (its path is
# printed) shows which node served each request. Needs redis-server and nginx (Debian:
# `apt-get install redis-server nginx`); nothing runs as root and nothing is written outside a
# temporary directory, removed on exit.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

NGINX_PORT="${NGINX_PORT:-8080}"
SIO_A="${SIO_A:-3001}"
SIO_B="${SIO_B:-3002}"
CHAT_A="${CHAT_A:-7001}"
CHAT_B="${CHAT_B:-7002}"
REDIS_PORT="${REDIS_PORT:-6390}"

# Debian puts nginx in /usr/sbin, which is not on every user's PATH.
nginx="$(command -v nginx || true)"
if [ -z "$nginx" ] && [ -x /usr/sbin/nginx ]; then nginx=/usr/sbin/nginx; fi
for tool in redis-server "$nginx"; do
  if [ -z "$tool" ] || ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: needs redis-server and nginx (apt-get install redis-server nginx)" >&2
    exit 1
  fi
done

if [ -n "${THREADSOCK:-}" ]; then
  threadsock="$THREADSOCK"
else
  echo "== cargo build --release"
  (cd "$repo" && cargo build --release --quiet)
  threadsock="${CARGO_TARGET_DIR:-$repo/target}/release/threadsock"
fi

prefix="$(mktemp -d "${TMPDIR:-/tmp}/threadsock-cluster.XXXXXX")"
# Started as root, nginx's worker runs as nobody: it must be able to enter the prefix.
chmod 755 "$prefix"
mkdir -p "$prefix/logs" "$prefix/temp"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "== stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$prefix"
}
trap stop INT TERM EXIT

# Waits (at most 10 s) until something accepts connections on 127.0.0.1:$1.
wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run.sh: nothing listens on 127.0.0.1:$1 ($2); see $prefix/logs" >&2
  exit 1
}

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$prefix" --logfile "$prefix/logs/redis.log" &
pids+=($!)
wait_port "$REDIS_PORT" redis-server

for node in A B; do
  if [ "$node" = A ]; then chat=$CHAT_A sio=$SIO_A; else chat=$CHAT_B sio=$SIO_B; fi
  "$threadsock" serve --only chat,socketio --bind 127.0.0.1 \
    --redis "redis://127.0.0.1:$REDIS_PORT" --chat-port "$chat" --socketio-port "$sio" \
    >"$prefix/logs/node-$node.out" 2>"$prefix/logs/node-$node.err" &
  pids+=($!)
done
wait_port "$CHAT_A" "node A"
wait_port "$SIO_A" "node A"
wait_port "$CHAT_B" "node B"
wait_port "$SIO_B" "node B"

sed -e "s/@NGINX_PORT@/$NGINX_PORT/g" -e "s/@NODE_A@/$SIO_A/g" -e "s/@NODE_B@/$SIO_B/g" \
  "$here/nginx.conf" >"$prefix/nginx.conf"
"$nginx" -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" -g 'daemon off;' &
pids+=($!)
wait_port "$NGINX_PORT" nginx

cat <<EOF

Ready.
  browser chat (through nginx):  http://127.0.0.1:$NGINX_PORT/
  nc on node A:                  nc 127.0.0.1 $CHAT_A
  nc on node B:                  nc 127.0.0.1 $CHAT_B
  which node served what:        tail -f $prefix/logs/access.log
  nodes' logs:                   $prefix/logs/node-A.err, node-B.err
Ctrl-C stops everything.
EOF

# Until Ctrl-C, or until one of them exits on its own.
wait -n "${pids[@]}" || true
