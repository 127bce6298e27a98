#!/usr/bin/env bash
# A three-node RabbitMQ cluster on loopback for the cluster tests, next to the
# machine's own broker (127.0.0.1:5672, which this script never touches).
# Follows ../shared/CLUSTER.md: server binaries from /usr/lib/rabbitmq/bin run
# as the current user, one HOME with the cluster's own Erlang cookie, every
# node configured through RABBITMQ_* variables, c2 and c3 joined to c1.
#
#   node  name          AMQP             Erlang distribution
#   1     c1@localhost  127.0.0.1:5673   127.0.0.1:25673
#   2     c2@localhost  127.0.0.1:5674   127.0.0.1:25674
#   3     c3@localhost  127.0.0.1:5675   127.0.0.1:25675
#   No plugins are enabled (enabled_plugins is `[].`): no management or
#   Prometheus ports. Login guest/guest, vhost "/".
#
# Usage: bash test/support/cluster.sh COMMAND [N]      (N is 1, 2 or 3)
#   up                   start the nodes that are not running, join the ones
#                        not yet clustered, and wait until all three run as one
#                        cluster. Idempotent: on a healthy cluster it only checks.
#   down                 stop every node, kill -9 whatever of ours is left (only
#                        processes started by this script, found by a marker in
#                        their environment; never the 5672 broker nor epmd) and
#                        remove the data directory.
#   status               one line per node; exit 0 only when all three are
#                        running and clustered.
#   stop_app N           `rabbitmqctl stop_app` on node N (the node leaves; its
#                        Erlang VM stays up).
#   start_app N          `rabbitmqctl start_app` on node N; waits until it has
#                        rejoined the running nodes and its port accepts.
#   kill N               kill -9 node N's Erlang VM; waits until it is gone.
#   start N              start a killed (or stopped) node N again with the same
#                        variables; waits until it has rejoined.
#   close_connections N|all [REASON]
#                        close every client connection on node N (or on all
#                        running nodes), like `rabbitmqctl close_connection`.
#   connections N        list node N's client connections (name, peer port, user).
#   ctl N ARGS...        run `rabbitmqctl -n cN@localhost ARGS...` with the
#                        cluster's cookie (for anything not covered above).
#
# Environment:
#   AMQP091_CLUSTER_DIR  data, logs and cookie (default ${TMPDIR:-/tmp}/amqp091-cluster)
#   RABBITMQ_BIN_DIR     server binaries (default /usr/lib/rabbitmq/bin)
#   CLUSTER_WAIT_SECONDS how long to wait for a node to start or rejoin (default 180)
#
# Exit status 0 on success; otherwise non-zero with a message on stderr naming
# the node and the log to read. Calls are serialised with a lock file, so tests
# may call this script from several places.
set -uo pipefail

BIN="${RABBITMQ_BIN_DIR:-/usr/lib/rabbitmq/bin}"
DIR="${AMQP091_CLUSTER_DIR:-${TMPDIR:-/tmp}/amqp091-cluster}"
WAIT="${CLUSTER_WAIT_SECONDS:-180}"
LOCK="${DIR%/}.lock"
MARK="AMQP091_CLUSTER_DIR_MARK=$DIR" # in the environment of every process we start
NODES=(1 2 3)

say() { echo "cluster: $*" >&2; }
die() { say "$*"; exit 1; }

name() { echo "c$1@localhost"; }
amqp_port() { echo $((5672 + $1)); }
dist_port() { echo $((25672 + $1)); }
node_dir() { echo "$DIR/c$1"; }
pid_file() { echo "$DIR/c$1/pid"; }

check_n() {
  [[ "${1:-}" =~ ^[123]$ ]] || die "node must be 1, 2 or 3 (got '${1:-}')"
}

# Environment shared by the server and the CLI of node $1 (run in a subshell).
node_env() {
  local d
  d="$(node_dir "$1")"
  export HOME="$DIR/home" # the cluster's own .erlang.cookie
  export RABBITMQ_NODENAME="$(name "$1")"
  export RABBITMQ_DIST_PORT="$(dist_port "$1")"
  export RABBITMQ_MNESIA_BASE="$d/mnesia"
  export RABBITMQ_LOG_BASE="$d/log"
  export RABBITMQ_PID_FILE="$d/pid"
  export RABBITMQ_CONFIG_FILE="$d/rabbitmq" # without .conf
  export RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" # absent: not /etc's
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
  export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf" # not /etc's (it names the main node)
  export ERL_EPMD_ADDRESS=127.0.0.1
}

# rabbitmqctl against node $1; the remaining arguments go to rabbitmqctl.
ctl() {
  local n="$1"
  shift
  (
    node_env "$n"
    exec timeout --kill-after=10s "${CTL_TIMEOUT:-120}s" "$BIN/rabbitmqctl" -q -n "$(name "$n")" "$@" 9>&-
  )
}

# PIDs of every process that carries our marker (the nodes, their erl_child_setup,
# inet_gethost, disk monitor shells), of node $1 or of all three.
our_pids() {
  local pats=() n f nodes=("$@")
  ((${#nodes[@]})) || nodes=("${NODES[@]}")
  for n in "${nodes[@]}"; do pats+=(-e "$MARK:c$n"); done
  for f in $(grep -lzxF "${pats[@]}" /proc/[0-9]*/environ 2>/dev/null); do
    f="${f%/environ}"
    # An epmd that our first node had to start serves every Erlang node on the
    # machine (the 5672 broker too): it stays.
    [[ "$(cat "$f/comm" 2>/dev/null)" == epmd ]] && continue
    echo "${f#/proc/}"
  done
}

# The Erlang VM (beam.smp) of node $1, if it is alive and ours.
beam_pid() {
  local pid
  pid="$(cat "$(pid_file "$1")" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  grep -qzxF "$MARK:c$1" "/proc/$pid/environ" 2>/dev/null || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# All cluster members (running or not) as seen by node $1.
all_members() {
  CTL_TIMEOUT=30 ctl "$1" eval \
    'io:format("~s~n", [string:join([hd(string:split(atom_to_list(N), "@")) || N <- lists:sort(rabbit_nodes:all())], " ")]).' \
    2>/dev/null | head -n 1
}

# True when node $1 runs and sees every other node whose app runs as running.
rejoined() {
  local out
  out="$(CTL_TIMEOUT=30 ctl "$1" eval '
    Running = rabbit_nodes:all_running(),
    Others = [list_to_atom("c" ++ integer_to_list(I) ++ "@localhost") || I <- [1, 2, 3]] -- [node()],
    rabbit:is_running() andalso lists:member(node(), Running) andalso
      lists:all(fun(M) -> lists:member(M, Running) orelse rpc:call(M, rabbit, is_running, [], 5000) =/= true end, Others).' 2>/dev/null)"
  [[ "$out" == true ]]
}

log_hint() { echo "see $(node_dir "$1")/log/ and $(node_dir "$1")/start.log"; }

wait_until() { # wait_until SECONDS WHAT COMMAND... : poll every second
  local seconds="$1" what="$2" deadline=$((SECONDS + $1))
  shift 2
  until "$@"; do
    ((SECONDS >= deadline)) && { say "timed out after ${seconds}s waiting for $what"; return 1; }
    sleep 1
  done
}

prepare() {
  [[ -x "$BIN/rabbitmq-server" && -x "$BIN/rabbitmqctl" ]] ||
    die "RabbitMQ server binaries not found in $BIN (install rabbitmq-server, or set RABBITMQ_BIN_DIR)"
  mkdir -p "$DIR/home"
  touch "$DIR/.amqp091-cluster"
  if [[ ! -s "$DIR/home/.erlang.cookie" ]]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/home/.erlang.cookie")
    chmod 0400 "$DIR/home/.erlang.cookie"
  fi
  echo '[].' >"$DIR/enabled_plugins"
  cat >"$DIR/rabbitmq-env.conf" <<'EOF'
ERL_EPMD_ADDRESS=127.0.0.1
export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"
EOF
  local n d
  for n in "${NODES[@]}"; do
    d="$(node_dir "$n")"
    mkdir -p "$d/mnesia" "$d/log"
    printf 'listeners.tcp.local = 127.0.0.1:%s\nloopback_users = none\n' "$(amqp_port "$n")" >"$d/rabbitmq.conf"
  done
}

# Start node $1's VM (detached) unless it is already alive. Does not wait.
launch() {
  local n="$1" p
  beam_pid "$n" >/dev/null && return 0
  rm -f "$(pid_file "$n")"
  for p in "$(amqp_port "$n")" "$(dist_port "$n")"; do
    port_open "$p" && die "port $p is taken by a process that is not node $(name "$n") of $DIR; run 'down' or free the port"
  done
  (
    node_env "$n"
    export "$MARK:c$n"
    cd "$(node_dir "$n")" || exit 1
    exec "$BIN/rabbitmq-server" -detached
  ) >"$(node_dir "$n")/start.log" 2>&1 </dev/null 9>&-  || die "rabbitmq-server failed to start $(name "$n"); $(log_hint "$n")"
}

# Wait until node $1's app has started (the VM may still be registering).
await_node() {
  local n="$1" deadline=$((SECONDS + WAIT))
  until CTL_TIMEOUT=$WAIT ctl "$n" await_startup >/dev/null 2>&1; do
    [[ -n "$(our_pids "$n")" ]] ||
      { say "$(name "$n") exited during startup; $(log_hint "$n")"; return 1; }
    ((SECONDS >= deadline)) && { say "$(name "$n") did not start within ${WAIT}s; $(log_hint "$n")"; return 1; }
    sleep 1
  done
}

wait_port() {
  wait_until "$WAIT" "127.0.0.1:$(amqp_port "$1") to accept connections" port_open "$(amqp_port "$1")"
}

wait_rejoined() {
  wait_until "$WAIT" "$(name "$1") to rejoin the cluster" rejoined "$1" && wait_port "$1"
}

join() { # join node $1 to c1 (CLUSTER.md: stop_app, join_cluster, start_app)
  local n="$1"
  ctl "$n" stop_app >/dev/null || die "stop_app on $(name "$n") failed"
  ctl "$n" join_cluster "$(name 1)" >/dev/null || die "join_cluster of $(name "$n") to $(name 1) failed; $(log_hint "$n")"
  ctl "$n" start_app >/dev/null || die "start_app on $(name "$n") failed; $(log_hint "$n")"
}

healthy() { [[ "$(node_state 1)" == "running c1 c2 c3" ]]; }

cmd_up() {
  local n started=0 pids=() failed=0
  prepare
  if beam_pid 1 >/dev/null && beam_pid 2 >/dev/null && beam_pid 3 >/dev/null && healthy; then
    say "already up"
    return 0
  fi
  for n in "${NODES[@]}"; do
    beam_pid "$n" >/dev/null || { launch "$n"; started=$((started + 1)); }
  done
  # Await the three in parallel; a node that is up but stopped_app is started.
  for n in "${NODES[@]}"; do
    (await_node "$n") &
    pids+=($!)
  done
  for n in "${!pids[@]}"; do wait "${pids[$n]}" || failed=1; done
  ((failed)) && die "a node did not start"
  for n in 2 3; do
    if [[ " $(all_members 1) " != *" c$n "* ]]; then
      join "$n"
    fi
  done
  wait_until "$WAIT" "c1, c2 and c3 to run as one cluster" healthy || die "cluster did not form; $(log_hint 1)"
  for n in "${NODES[@]}"; do wait_port "$n" || die "node $n does not accept AMQP connections"; done
  say "up: c1, c2, c3 on 127.0.0.1:5673-5675 ($started node(s) started)"
}

cmd_down() {
  local n pid pids=() left
  for n in "${NODES[@]}"; do
    if beam_pid "$n" >/dev/null; then
      (CTL_TIMEOUT=60 ctl "$n" stop >/dev/null 2>&1) &
      pids+=($!)
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  # Whatever is still there (a hung node, a half-started VM): kill -9, ours only.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    left="$(our_pids)"
    [[ -z "$left" ]] && break
    sleep 1
  done
  left="$(our_pids)"
  if [[ -n "$left" ]]; then
    say "killing leftover processes: $(echo $left)"
    kill -9 $left 2>/dev/null
    sleep 1
  fi
  if [[ -f "$DIR/.amqp091-cluster" ]]; then
    rm -rf "$DIR"
  elif [[ -e "$DIR" ]]; then
    say "not removing $DIR: it was not made by this script"
  fi
  left="$(our_pids)"
  [[ -z "$left" ]] || die "processes still alive: $(echo $left)"
  say "down"
}

# "running c1 c2 c3" (the app runs; the running members it sees), "stopped"
# (VM up, app stopped) or "down" for node $1, in one rabbitmqctl call.
node_state() {
  local out
  beam_pid "$1" >/dev/null || { echo down; return; }
  out="$(CTL_TIMEOUT=30 ctl "$1" eval '
    case rabbit:is_running() of
      true -> io:format("running ~s~n", [string:join([hd(string:split(atom_to_list(N), "@")) || N <- lists:sort(rabbit_nodes:all_running())], " ")]);
      false -> io:format("stopped~n")
    end.' 2>/dev/null | head -n 1)"
  echo "${out:-unreachable}"
}

cmd_status() {
  local n pid state healthy=1 states=()
  for n in "${NODES[@]}"; do
    (node_state "$n" >"$DIR/.state.$n") &
  done
  wait
  for n in "${NODES[@]}"; do
    state="$(cat "$DIR/.state.$n" 2>/dev/null)"
    rm -f "$DIR/.state.$n"
    pid="$(beam_pid "$n")" || pid="-"
    case "$state" in
      "running c1 c2 c3") printf '%s  127.0.0.1:%s  pid %s  running  running members: c1 c2 c3\n' "$(name "$n")" "$(amqp_port "$n")" "$pid" ;;
      running*) healthy=0; printf '%s  127.0.0.1:%s  pid %s  running  running members: %s\n' "$(name "$n")" "$(amqp_port "$n")" "$pid" "${state#running }" ;;
      stopped) healthy=0; printf '%s  127.0.0.1:%s  pid %s  app stopped\n' "$(name "$n")" "$(amqp_port "$n")" "$pid" ;;
      down) healthy=0; printf '%s  127.0.0.1:%s  not running\n' "$(name "$n")" "$(amqp_port "$n")" ;;
      *) healthy=0; printf '%s  127.0.0.1:%s  pid %s  not answering\n' "$(name "$n")" "$(amqp_port "$n")" "$pid" ;;
    esac
  done
  if ((healthy)); then echo "cluster: healthy"; return 0; fi
  echo "cluster: not healthy"
  return 1
}

cmd_stop_app() {
  check_n "${1:-}"
  beam_pid "$1" >/dev/null || die "$(name "$1") is not running"
  ctl "$1" stop_app >/dev/null || die "stop_app on $(name "$1") failed"
}

cmd_start_app() {
  check_n "${1:-}"
  beam_pid "$1" >/dev/null || die "$(name "$1") is not running (use 'start $1' after 'kill $1')"
  ctl "$1" start_app >/dev/null || die "start_app on $(name "$1") failed; $(log_hint "$1")"
  wait_rejoined "$1" || die "$(name "$1") did not rejoin; $(log_hint "$1")"
}

cmd_kill() {
  local pid
  check_n "${1:-}"
  pid="$(beam_pid "$1")" || die "$(name "$1") is not running"
  kill -9 "$pid"
  wait_until 30 "$(name "$1") (pid $pid) to die" eval '! kill -0 '"$pid"' 2>/dev/null' || exit 1
}

cmd_start() {
  check_n "${1:-}"
  [[ -d "$(node_dir "$1")/mnesia" ]] || die "no data for $(name "$1"); run 'up' first"
  prepare
  launch "$1"
  await_node "$1" || exit 1
  wait_rejoined "$1" || die "$(name "$1") did not rejoin; $(log_hint "$1")"
}

cmd_close_connections() {
  local target="${1:-}" reason="${2:-closed by test/support/cluster.sh}" n list
  # One rabbitmqctl call, so that "all" closes every connection at nearly the
  # same moment: rabbit_networking:connections() is cluster-wide.
  reason="${reason//\\/\\\\}"
  reason="${reason//\"/\\\"}"
  if [[ "$target" == all ]]; then
    list='rabbit_networking:connections()'
    for n in "${NODES[@]}"; do [[ "$(node_state "$n")" == running* ]] && break; n=""; done
    [[ -n "$n" ]] || die "no node is running"
  else
    check_n "$target"
    n="$target"
    list='rabbit_networking:connections_local()'
  fi
  ctl "$n" eval "
    Closed = [P || P <- $list, catch rabbit_networking:close_connection(P, \"$reason\") =:= ok],
    io:format(\"~b~n\", [length(Closed)])." | head -n 1 ||
    die "closing connections on $(name "$n") failed"
}

cmd_connections() {
  check_n "${1:-}"
  ctl "$1" list_connections --no-table-headers name peer_port user
}

main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    up | down | status | stop_app | start_app | kill | start | close_connections | connections | ctl) ;;
    *) die "usage: cluster.sh up|down|status|stop_app N|start_app N|kill N|start N|close_connections N|all [REASON]|connections N|ctl N ARGS... (see the top of the script)" ;;
  esac
  mkdir -p "$(dirname "$LOCK")"
  exec 9>"$LOCK"
  flock -w "$((WAIT + 120))" 9 || die "another cluster.sh is still running (lock $LOCK)"
  case "$cmd" in
    ctl) check_n "${1:-}"; ctl "$@" ;;
    *) "cmd_$cmd" "$@" ;;
  esac
}

main "$@"
