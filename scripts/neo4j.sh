#!/usr/bin/env bash
# A local Neo4j 5.26 community server (embedded DBMS + Bolt on 127.0.0.1) for the integration tests and CI.
# Built from Maven Central by tools/neo4j (Java 17 + Maven 3.8); no Neo4j download, no Docker.
#
#   scripts/neo4j.sh build                      # mvn package (offline first once ~/.m2 has the artifacts)
#   NEO4J_RUNNER_PASSWORD=... scripts/neo4j.sh start <dataDir> <port>
#                                               # background start; prints bolt://127.0.0.1:<port> when ready
#   scripts/neo4j.sh stop <dataDir>             # SIGTERM, clean shutdown (SIGKILL after NEO4J_STOP_TIMEOUT s)
#   scripts/neo4j.sh status [<dataDir>]         # exit 0 if running, 3 if not
#
# <dataDir> is the Neo4j home: data/, logs/ (debug.log, security.log, ...) live below it, plus
# neo4j-runner.pid and neo4j-runner.log (the runner's stdout+stderr; the previous one is kept as .log.prev).
# The password of user `neo4j` is set from NEO4J_RUNNER_PASSWORD (8+ characters) at the first start of a
# dataDir and kept afterwards; a later start with a different password fails (NEO4J_RUNNER_RESET_PASSWORD=1
# overwrites it).
#
# Environment: NEO4J_RUNNER_PASSWORD (start, required), NEO4J_START_TIMEOUT (s, default 120),
# NEO4J_STOP_TIMEOUT (s, default 60), NEO4J_RUNNER_JAVA_OPTS (default below), JAVA (default: java on PATH).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOL="$ROOT/tools/neo4j"
JAR="$TOOL/target/neo4j-runner.jar"
JAVA="${JAVA:-java}"
DEFAULT_JAVA_OPTS="-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Xss1m"
JAVA_OPTS="${NEO4J_RUNNER_JAVA_OPTS:-$DEFAULT_JAVA_OPTS}"
START_TIMEOUT="${NEO4J_START_TIMEOUT:-120}"
STOP_TIMEOUT="${NEO4J_STOP_TIMEOUT:-60}"

log() { printf 'neo4j.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

abs_dir() { # canonical absolute path of a directory that may not exist yet (start/stop/status must agree)
  realpath -m -- "$1"
}

# pid of a live runner for <dataDir> from its pid file, or nothing. A stale or reused pid is ignored.
runner_pid() {
  local dir="$1" pid
  [ -f "$dir/neo4j-runner.pid" ] || return 0
  pid="$(cat "$dir/neo4j-runner.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [ -r "/proc/$pid/cmdline" ] || return 0
  if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$dir" &&
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'neo4j-runner\.jar$'; then
    printf '%s\n' "$pid"
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_build() {
  command -v mvn >/dev/null 2>&1 || die "mvn not found (Maven 3.8+ and Java 17 are needed)"
  local started=$SECONDS
  # Offline first: after one online build ~/.m2 holds every artifact and no network is needed.
  if ! mvn -q -B -Dstyle.color=never -o -f "$TOOL/pom.xml" package >/dev/null 2>&1; then
    mvn -q -B -Dstyle.color=never -f "$TOOL/pom.xml" package || die "mvn package failed"
  fi
  [ -f "$JAR" ] || die "build produced no $JAR"
  log "built $JAR in $((SECONDS - started)) s"
}

cmd_start() {
  [ $# -eq 2 ] || usage
  local dir port pid logf pidf deadline uri
  dir="$(abs_dir "$1")"
  port="$2"
  [[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] || die "port must be 1..65535: $port"
  [ -n "${NEO4J_RUNNER_PASSWORD:-}" ] || die "NEO4J_RUNNER_PASSWORD is not set"
  [ ${#NEO4J_RUNNER_PASSWORD} -ge 8 ] || die "NEO4J_RUNNER_PASSWORD must have at least 8 characters"
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Java 17+ is needed)"
  [ -f "$JAR" ] || cmd_build
  mkdir -p "$dir"

  pid="$(runner_pid "$dir")"
  [ -z "$pid" ] || die "already running for $dir (pid $pid); stop it first"
  port_in_use "$port" && die "127.0.0.1:$port is already in use"

  logf="$dir/neo4j-runner.log"
  pidf="$dir/neo4j-runner.pid"
  [ ! -f "$logf" ] || mv -f "$logf" "$logf.prev"
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of words
  nohup "$JAVA" $JAVA_OPTS -jar "$JAR" "$dir" "$port" </dev/null >"$logf" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$pidf"
  log "started pid $pid (log $logf), waiting up to ${START_TIMEOUT}s for Bolt on 127.0.0.1:$port"

  deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    uri="$(sed -n 's/^NEO4J_READY \(bolt:\/\/[^ ]*\)$/\1/p' "$logf" | head -n 1)"
    if [ -n "$uri" ]; then
      log "ready after $((SECONDS + START_TIMEOUT - deadline)) s: $uri"
      printf '%s\n' "$uri"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null && rc=0 || rc=$?
      rm -f "$pidf"
      log "the runner exited (code $rc) before it was ready; last lines of $logf:"
      tail -n 60 "$logf" >&2 || true
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "not ready after ${START_TIMEOUT}s; last lines of $logf:"
      tail -n 60 "$logf" >&2 || true
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$pidf"
      exit 1
    fi
    sleep 0.25
  done
}

cmd_stop() {
  [ $# -eq 1 ] || usage
  local dir pid deadline
  dir="$(abs_dir "$1")"
  pid="$(runner_pid "$dir")"
  if [ -z "$pid" ]; then
    rm -f "$dir/neo4j-runner.pid"
    log "not running for $dir"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "pid $pid still running after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$dir/neo4j-runner.pid"
  log "stopped pid $pid ($dir)"
}

cmd_status() {
  local found=0 p cmd dir port
  if [ $# -ge 1 ]; then
    dir="$(abs_dir "$1")"
    p="$(runner_pid "$dir")"
    if [ -n "$p" ]; then
      port="$(tr '\0' '\n' <"/proc/$p/cmdline" | tail -n 1)"
      printf 'running pid=%s dir=%s bolt://127.0.0.1:%s\n' "$p" "$dir" "$port"
      return 0
    fi
    printf 'stopped dir=%s\n' "$dir"
    return 3
  fi
  for p in /proc/[0-9]*; do
    cmd="$(tr '\0' '\n' <"$p/cmdline" 2>/dev/null)" || continue
    printf '%s\n' "$cmd" | grep -q 'neo4j-runner\.jar$' || continue
    # argv: ... -jar <jar> <dataDir> <port>
    dir="$(printf '%s\n' "$cmd" | tail -n 2 | head -n 1)"
    port="$(printf '%s\n' "$cmd" | tail -n 1)"
    printf 'running pid=%s dir=%s bolt://127.0.0.1:%s\n' "${p#/proc/}" "$dir" "$port"
    found=1
  done
  [ "$found" -eq 1 ] && return 0
  echo "no neo4j-runner is running"
  return 3
}

[ $# -ge 1 ] || usage
sub="$1"
shift
case "$sub" in
  build) cmd_build "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
