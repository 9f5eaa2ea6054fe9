#!/usr/bin/env bash
# Three jobserver nodes on this machine sharing one private Postgres and Redis: submit a
# batch of work, show GET /cluster and which node runs what, kill one node with kill -9,
# and watch every job finish on the other two. The nodes are stopped at the end.
#
# Usage: scripts/cluster-demo.sh            run the demo (setup, build, services, nodes)
#        scripts/cluster-demo.sh stop       stop nodes left over by an interrupted run
#
# Env:   BUILD_DIR (default build); HTTP ports 8081-8083 and cluster ports 7071-7073
#        (override with BASE_HTTP_PORT / BASE_CLUSTER_PORT); PG_PORT / REDIS_PORT as for
#        scripts/services.sh. Logs: .run/cluster/node-{a,b,c}.log
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build}
if [[ $BUILD_DIR == /* ]]; then BIN="$BUILD_DIR/jobserver"; else BIN="$ROOT/$BUILD_DIR/jobserver"; fi
BASE_HTTP_PORT=${BASE_HTTP_PORT:-8081}
BASE_CLUSTER_PORT=${BASE_CLUSTER_PORT:-7071}
DIR="$ROOT/.run/cluster"
NAMES=(a b c)
JOBS=30

die() { echo "cluster-demo.sh: ERROR: $*" >&2; exit 1; }
say() { printf '\n==> %s\n' "$*"; }
http_port() { echo $((BASE_HTTP_PORT + $1)); }
cluster_port() { echo $((BASE_CLUSTER_PORT + $1)); }
url() { echo "http://127.0.0.1:$(http_port "$1")"; }

# pid of node i from its pid file, if that process is still our binary.
node_pid() {
  local f="$DIR/node-${NAMES[$1]}.pid" pid exe
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ $exe == "$BIN" || $exe == "$BIN (deleted)" ]] || return 1
  echo "$pid"
}

stop_nodes() {
  local i pid
  for i in 0 1 2; do
    if pid=$(node_pid "$i"); then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$DIR/node-${NAMES[$i]}.pid"
  done
}

start_node() {
  local i=$1 name="node-${NAMES[$1]}"
  (exec 3<>"/dev/tcp/127.0.0.1/$(http_port "$i")") 2>/dev/null &&
    die "port $(http_port "$i") is in use; set BASE_HTTP_PORT"
  NODE_ID=$name HTTP_PORT=$(http_port "$i") CLUSTER_PORT=$(cluster_port "$i") \
    CLUSTER_SEEDS="127.0.0.1:$(cluster_port 0)" REDIS_PREFIX=cluster-demo ENABLE_TEST_JOBS=1 \
    TEST_JOB_CONCURRENCY=4 PER_USER_CONCURRENCY=8 LEASE_MS=20000 \
    nohup "$BIN" </dev/null >>"$DIR/$name.log" 2>&1 &
  echo $! >"$DIR/$name.pid"
  for _ in $(seq 1 100); do
    curl -fsS --max-time 1 "$(url "$i")/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "$name did not start; see $DIR/$name.log"
}

pretty_cluster() {
  curl -sS --max-time 5 "$(url "$1")/cluster" | python3 -c '
import json, sys
c = json.load(sys.stdin)
print("  /cluster as node %s sees it:" % c["node"])
for n in c["nodes"]:
    run = sum(n["running"].values())
    print("  %-8s api=%-16s cluster=%-16s roles=%-11s running=%-3d capacity(sleep)=%d last contact %s ms ago" % (
        n["id"], n["address"], n["cluster_address"], ",".join(n["roles"]), run,
        n["capacity"].get("sleep", 0), n["last_contact_ms_ago"]))'
}

# Prints "status node" for each job id in $DIR/jobs (POST /jobs/poll, 100 at a time).
poll_jobs() {
  python3 - "$(url "$1")" "$DIR/jobs" <<'PY'
import json, sys, urllib.request
base, path = sys.argv[1], sys.argv[2]
ids = [l.split()[0] for l in open(path) if l.strip()]
users = {l.split()[0]: l.split()[1] for l in open(path) if l.strip()}
by_user = {}
for i in ids: by_user.setdefault(users[i], []).append(i)
for user, mine in by_user.items():
    req = urllib.request.Request(base + "/jobs/poll", data=json.dumps({"job_ids": mine}).encode(),
                                 headers={"Content-Type": "application/json", "X-User-ID": user})
    for j in json.load(urllib.request.urlopen(req, timeout=5))["jobs"]:
        print(j["id"], j["status"], j.get("node", "-"), j["attempts"])
PY
}

summary() {
  poll_jobs "$1" | awk '{ k = $2 " on " $3; n[k]++ } END { for (k in n) printf "    %3d %s\n", n[k], k }' | sort -k2
}

run_demo() {
  say "setup, build, services"
  scripts/setup.sh
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null
  local out
  out=$(scripts/services.sh start)
  eval "$out"
  "$BIN" migrate
  mkdir -p "$DIR"
  stop_nodes
  : >"$DIR/jobs"
  rm -f "$DIR"/node-*.log   # each run writes fresh logs
  trap stop_nodes EXIT

  say "three nodes: node-a (seed), node-b, node-c"
  for i in 0 1 2; do start_node "$i"; echo "  node-${NAMES[$i]}: $(url "$i") (cluster port $(cluster_port "$i"))"; done
  for _ in $(seq 1 50); do
    [[ $(curl -sS "$(url 2)/cluster" | grep -o '"id"' | wc -l) -eq 3 ]] && break
    sleep 0.2
  done
  pretty_cluster 2

  say "$JOBS sleep jobs (4 s each) from three users, submitted to node-a"
  python3 - "$(url 0)" "$JOBS" >"$DIR/jobs" <<'PY'
import json, sys, urllib.request
base, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    user = "student-%d" % (i % 3 + 1)
    req = urllib.request.Request(base + "/jobs", data=json.dumps(
        {"type": "sleep", "data": {"ms": 4000, "steps": 10}}).encode(),
        headers={"Content-Type": "application/json", "X-User-ID": user})
    print(json.load(urllib.request.urlopen(req, timeout=10))["job_id"], user)
PY
  local i
  for i in $(seq 1 50); do poll_jobs 0 | grep ' processing node-b ' >/dev/null && break; sleep 0.2; done
  echo "  jobs by status and node:"
  summary 0
  pretty_cluster 0

  say "kill -9 node-b while it runs jobs"
  local victim
  victim=$(node_pid 1) || die "node-b is not running"
  echo "  node-b runs $(poll_jobs 0 | grep -c ' processing node-b ') job(s) now"
  kill -KILL "$victim"
  local t0=$(date +%s%3N)
  while poll_jobs 0 | grep ' processing node-b ' >/dev/null; do sleep 0.05; done
  echo "  node-b's jobs were requeued $(( $(date +%s%3N) - t0 )) ms after the kill"
  grep -h "node-b is down\|node node-b down" "$DIR"/node-a.log "$DIR"/node-c.log | tail -n 3 | sed 's/^/  log: /'
  sleep 1
  pretty_cluster 0

  say "waiting for every job to finish on node-a and node-c"
  local deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    poll_jobs 0 | grep -v ' completed ' >/dev/null || break
    sleep 0.5
  done
  summary 0
  local done_count twice=0
  done_count=$(poll_jobs 0 | grep -c ' completed ' || true)
  while read -r id _; do
    (( $(cat "$DIR"/node-*.log | grep -c "job $id (sleep) completed in") > 1 )) && twice=$((twice + 1))
  done <"$DIR/jobs"
  echo "  $done_count of $JOBS jobs completed; completed twice: $twice"
  ((done_count == JOBS && twice == 0)) || die "some jobs did not complete exactly once"

  say "stopping node-a and node-c (SIGTERM: they leave the cluster and exit 0)"
  stop_nodes
  trap - EXIT
  echo "  done; logs in $DIR"
}

case ${1:-} in
  "") run_demo ;;
  stop) stop_nodes ;;
  -h | --help | help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' ;;
  *) die "unknown command '$1' (usage: scripts/cluster-demo.sh [stop])" ;;
esac
