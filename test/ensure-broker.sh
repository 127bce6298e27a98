#!/usr/bin/env bash
# Make sure a RabbitMQ broker the tests can use is running.
#
# Used by `npm test` (pretest) and by .ci/run. Idempotent: when the broker is
# already up and healthy it does almost nothing and prints nothing.
#
#   AMQP_URL  broker to test against (default amqp://guest:guest@127.0.0.1:5672/).
#             A non-local host is only waited for; nothing is installed or
#             started, and no broker settings are touched.
#   BROKER_WAIT_SECONDS  how long to wait for the broker (default 120).
#   RABBITMQ_MEMORY_WATERMARK  watermark restored on a local broker (default 0.4).
#
# Exit status 0 when the broker answers the AMQP protocol header, non-zero
# (with a message on stderr) otherwise.
set -uo pipefail

WAIT_SECONDS="${BROKER_WAIT_SECONDS:-120}"
WATERMARK="${RABBITMQ_MEMORY_WATERMARK:-0.4}"
URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/}"
LOG="${TMPDIR:-/tmp}/amqp091-ensure-broker.log"
SHOW_LOG=0

fail() {
  echo "ensure-broker: $*" >&2
  if [[ "$SHOW_LOG" == 1 && -s "$LOG" ]]; then
    echo "ensure-broker: last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2
  fi
  exit 1
}

# --- parse host and port out of AMQP_URL -----------------------------------
rest="${URL#*://}"
scheme="${URL%%://*}"
[[ "$rest" == "$URL" ]] && fail "AMQP_URL '$URL' is not an amqp:// or amqps:// URL"
hostport="${rest%%/*}"
hostport="${hostport%%\?*}"
hostport="${hostport##*@}"
if [[ "$hostport" == \[* ]]; then # [ipv6]:port
  HOST="${hostport%%]*}"; HOST="${HOST#[}"
  PORT="${hostport#*]}"; PORT="${PORT#:}"
else
  HOST="${hostport%%:*}"
  PORT=""
  [[ "$hostport" == *:* ]] && PORT="${hostport##*:}"
fi
[[ -z "$HOST" ]] && HOST=localhost
if [[ -z "$PORT" ]]; then
  if [[ "$scheme" == amqps ]]; then PORT=5671; else PORT=5672; fi
fi

# --- helpers -----------------------------------------------------------------
# Send the AMQP 0-9-1 protocol header and check that the server answers with a
# method frame on channel 0 (connection.start). Plain TCP only; for amqps we
# settle for a TCP connect.
amqp_answers() {
  local mode=amqp
  [[ "$scheme" == amqps ]] && mode=tcp
  node -e '
    const net = require("node:net");
    const [host, port, mode] = process.argv.slice(1);
    const s = net.connect({ host, port: Number(port) });
    const done = (ok) => { s.destroy(); process.exit(ok ? 0 : 1); };
    s.setTimeout(3000, () => done(false));
    s.on("error", () => done(false));
    s.on("connect", () => {
      if (mode !== "amqp") return done(true);
      s.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    });
    let buf = Buffer.alloc(0);
    s.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 11) done(buf[0] === 1 && buf[1] === 0 && buf[2] === 0 && buf.readUInt16BE(7) === 10 && buf.readUInt16BE(9) === 10);
    });
    s.on("end", () => done(false));
  ' "$HOST" "$PORT" "$mode" >/dev/null 2>&1
}

wait_for_amqp() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  while ((SECONDS < deadline)); do
    amqp_answers && return 0
    sleep 1
  done
  return 1
}

is_local_host() {
  case "$1" in
    localhost | 127.* | ::1 | 0.0.0.0) return 0 ;;
    *) return 1 ;;
  esac
}

# Run a command as root (directly, or through sudo when available).
as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    return 127
  fi
}

ctl() { as_root rabbitmqctl -q "$@"; }

# --- remote broker: only wait -------------------------------------------------
if ! is_local_host "$HOST"; then
  wait_for_amqp || fail "broker $HOST:$PORT (from AMQP_URL) did not answer within ${WAIT_SECONDS}s"
  exit 0
fi

# --- local broker ---------------------------------------------------------------
: >"$LOG"
SHOW_LOG=1

if ! command -v rabbitmq-server >/dev/null 2>&1 || ! command -v rabbitmqctl >/dev/null 2>&1; then
  # Already served by something else (e.g. a container mapped to 5672)? Use it.
  if amqp_answers; then exit 0; fi
  command -v apt-get >/dev/null 2>&1 || fail "rabbitmq-server is not installed and apt-get is not available; install RabbitMQ or set AMQP_URL"
  echo "ensure-broker: installing rabbitmq-server with apt-get (one-time)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$LOG" 2>&1 ||
    fail "apt-get update failed (need root or passwordless sudo)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >>"$LOG" 2>&1 ||
    fail "apt-get install rabbitmq-server failed"
fi

# Is the node running? (`rabbitmqctl await_startup` fails fast when it is not.)
node_running() { ctl await_startup --timeout 5 >>"$LOG" 2>&1; }

if ! node_running; then
  if ! amqp_answers; then
    as_root rabbitmq-server -detached >>"$LOG" 2>&1 || fail "rabbitmq-server -detached failed"
  fi
  deadline=$((SECONDS + WAIT_SECONDS))
  until node_running; do
    ((SECONDS < deadline)) || fail "RabbitMQ did not start within ${WAIT_SECONDS}s"
    sleep 1
  done
fi

wait_for_amqp || fail "RabbitMQ is running but $HOST:$PORT does not answer the AMQP protocol header"

# --- normal settings, in case an earlier run was killed mid-test ----------------
ctl set_vm_memory_high_watermark "$WATERMARK" >>"$LOG" 2>&1 ||
  fail "could not restore vm_memory_high_watermark to $WATERMARK"

# guest/guest must work (RabbitMQ allows guest from loopback only, by default).
if ! ctl authenticate_user guest guest >>"$LOG" 2>&1; then
  if ctl list_users 2>>"$LOG" | awk '{print $1}' | grep -qx guest; then
    ctl change_password guest guest >>"$LOG" 2>&1 || fail "could not reset the guest password"
  else
    ctl add_user guest guest >>"$LOG" 2>&1 || fail "could not add the guest user"
    ctl set_user_tags guest administrator >>"$LOG" 2>&1 || true
  fi
fi
ctl set_permissions -p / guest '.*' '.*' '.*' >>"$LOG" 2>&1 || fail "could not grant guest permissions on vhost /"

# Alarms clear by themselves once the watermark is back; wait briefly for that.
deadline=$((SECONDS + 30))
while :; do
  alarms="$(as_root rabbitmq-diagnostics -q alarms 2>>"$LOG")" || alarms=""
  if [[ -z "$alarms" ]] || grep -qi "no alarms" <<<"$alarms"; then break; fi
  if ((SECONDS >= deadline)); then
    fail "broker still reports alarms after restoring the watermark: $alarms"
  fi
  sleep 1
done

exit 0
