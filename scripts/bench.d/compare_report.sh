# shellcheck shell=bash disable=SC2317  # cell functions are called through row()
# The Markdown section of `scripts/bench.sh compare` (stdout), from CR[...] and FAILURES.
# Sourced by scripts/bench.d/compare.sh.

# a / b as "3.2x" ("n/a" when either is missing).
ratio_x() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a";
  else if (a / b >= 10) printf "%.0fx\n", a / b; else printf "%.1fx\n", a / b }'; }
fmt_mib() { awk -v kb="$1" 'BEGIN { if (kb == "" || kb == 0) print "n/a"; else printf "%.0f MiB\n", kb / 1024 }'; }
ms_us() { awk -v m="$1" 'BEGIN { if (m != "") print m * 1000 }'; }
# Errors of a wrk line: non-2xx answers + socket errors + timeouts.
wrk_err() {
  [[ -n $1 ]] || { echo n/a; return; }
  local s=0 k
  for k in non2xx connect_errors read_errors write_errors timeouts; do s=$((s + $(kv_get "$1" "$k"))); done
  echo "$s"
}

# best_of FIELD NAME=CR_KEY...: the NAME whose CR entry has the highest FIELD (empty when
# none has it).
best_of() {
  local field=$1 best="" bv=-1 pair v
  shift
  for pair; do
    v=$(kv_get "${CR[${pair#*=}]:-}" "$field")
    [[ -n $v ]] || continue
    if awk -v a="$v" -v b="$bv" 'BEGIN { exit !(a + 0 > b + 0) }'; then best=${pair%%=*} bv=$v; fi
  done
  echo "$best"
}

# The baseline label with the highest value of KEY in WHAT (e2e/get) in round R.
best_baseline() {
  local r=$1 what=$2 key=$3 l pairs=()
  for l in "${CMP_LABELS[@]:1}"; do pairs+=("$l=$r.$l.$what"); done
  best_of "$key" "${pairs[@]}"
}

label_name() {
  case $1 in
    jobserver) echo "jobserver" ;;
    node-c*) echo "Node baseline, concurrency ${1#node-c}" ;;
    nginx) echo "nginx (static)" ;;
  esac
}

# compare_round_table R: one table of round R.
compare_round_table() {
  local r=$1 l head="| figure |" sep="|---|"
  local all=("${CMP_LABELS[@]}" nginx)
  for l in "${all[@]}"; do head+=" $(label_name "$l") |"; sep+="---:|"; done
  local be bg
  be=$(best_baseline "$r" e2e e2e_jobs_per_s); bg=$(best_baseline "$r" get rps)
  echo "$head jobserver vs best baseline |"
  echo "$sep---:|"
  # row TITLE FUNC: FUNC LABEL prints the cell.
  row() {
    local fn=$2 line="| $1 |"
    for l in "${all[@]}"; do line+=" $($fn "$l") |"; done
    echo "$line $3 |"
  }
  # The end-to-end cells read the run CR[r.label.$ek]: e2e.cN (N clients) or e2e (the best).
  local ek=e2e
  cell_e2e() { if [[ $1 == nginx ]]; then echo –; else fmt_int "$(kv_get "${CR[$r.$1.$ek]:-}" e2e_jobs_per_s)"; fi; }
  cell_e2e_best() {
    [[ $1 == nginx ]] && { echo –; return; }
    local v; v=$(cell_e2e "$1")
    [[ $v == n/a ]] && echo n/a || echo "$v (${CR[$r.$1.e2e_clients]:-?} clients)"
  }
  cell_create() { if [[ $1 == nginx ]]; then echo –; else fmt_int "$(kv_get "${CR[$r.$1.$ek]:-}" create_rps)"; fi; }
  cell_create_lat() {
    [[ $1 == nginx ]] && { echo –; return; }
    local e=${CR[$r.$1.$ek]:-}
    echo "$(fmt_ms "$(ms_us "$(kv_get "$e" p50_ms)")") / $(fmt_ms "$(ms_us "$(kv_get "$e" p99_ms)")")"
  }
  cell_wait() {
    [[ $1 == nginx ]] && { echo –; return; }
    local e=${CR[$r.$1.$ek]:-} w
    w=$(kv_get "$e" wait_p50_ms)
    [[ -n $w ]] && echo "$w / $(kv_get "$e" wait_p99_ms) ms" || echo n/a
  }
  # e2e_ratio: jobserver's figure KEY of run $ek against the best baseline's in that run.
  e2e_ratio() {
    local b; b=$(best_baseline "$r" "$ek" e2e_jobs_per_s)
    ratio_x "$(kv_get "${CR[$js.$ek]:-}" "$1")" "$(kv_get "${CR[$r.$b.$ek]:-}" "$1")"
  }
  cell_rps() { local w=$2; [[ $1 == nginx && $w == poll ]] && { echo –; return; }; fmt_int "$(kv_get "${CR[$r.$1.$w]:-}" rps)"; }
  cell_lat() {
    local w=$2; [[ $1 == nginx && $w == poll ]] && { echo –; return; }
    local x=${CR[$r.$1.$w]:-}
    echo "$(fmt_ms "$(kv_get "$x" p50_us)") / $(fmt_ms "$(kv_get "$x" p99_us)")"
  }
  # rate_cell LINE [extra]: "p50 / p99 ([extra, ]N% stolen)" of a rate_get line.
  rate_cell() {
    [[ -n $1 ]] || { echo n/a; return; }
    echo "$(fmt_ms "$(ms_us "$(kv_get "$1" p50_ms)")") / $(fmt_ms "$(ms_us "$(kv_get "$1" p99_ms)")") (${2:+$2, }$(kv_get "$1" steal_pct)% stolen)"
  }
  cell_rate_lat() { if [[ $1 == nginx ]]; then echo –; else rate_cell "${CR[$r.$1.rate]:-}"; fi; }
  cell_rate5_lat() {
    [[ $1 == jobserver ]] || { echo –; return; }
    local x=${CR[$r.jobserver.rate5]:-}
    rate_cell "$x" "$(fmt_int "$(kv_get "$x" achieved_rps)") req/s"
  }
  cell_get_rps() { cell_rps "$1" get; }
  cell_get_lat() { cell_lat "$1" get; }
  cell_poll_rps() { cell_rps "$1" poll; }
  cell_poll_lat() { cell_lat "$1" poll; }
  cell_bytes() { echo "${CR[$r.$1.bytes]:-n/a}"; }
  cell_hwm() { fmt_mib "${CR[$r.$1.hwm]:-}"; }
  cell_errors() {
    [[ $1 == nginx ]] && { wrk_err "${CR[$r.nginx.get]:-}"; return; }
    echo "$(kv_get "${CR[$r.$1.e2e]:-}" errors) / $(wrk_err "${CR[$r.$1.get]:-}") / $(wrk_err "${CR[$r.$1.poll]:-}")"
  }
  cell_busy() { echo "${CR[$r.$1.busy]:-?}%"; }
  local js=$r.jobserver c
  row "end-to-end noop jobs/s, each server's best run" cell_e2e_best \
    "$(ratio_x "$(kv_get "${CR[$js.e2e]:-}" e2e_jobs_per_s)" "$(kv_get "${CR[$r.$be.e2e]:-}" e2e_jobs_per_s)")"
  for c in $CLIENTS; do
    ek=e2e.c$c
    row "end-to-end noop jobs/s, $c clients" cell_e2e "$(e2e_ratio e2e_jobs_per_s)"
    row "POST /jobs req/s (during end-to-end), $c clients" cell_create "$(e2e_ratio create_rps)"
    row "POST /jobs p50 / p99, $c clients" cell_create_lat ""
    row "queue wait p50 / p99 (created → started), $c clients" cell_wait ""
  done
  ek=e2e
  row "GET /jobs/:id req/s" cell_get_rps \
    "$(ratio_x "$(kv_get "${CR[$js.get]:-}" rps)" "$(kv_get "${CR[$r.$bg.get]:-}" rps)")"
  row "GET /jobs/:id p50 / p99" cell_get_lat ""
  row "GET /jobs/:id p50 / p99 at a fixed $RATE req/s" cell_rate_lat ""
  row "GET /jobs/:id p50 / p99 at a fixed $(fmt_int "${CR[$r.rate5_rps]:-}") req/s (5x the best baseline's req/s)" \
    cell_rate5_lat ""
  row "POST /jobs/poll (20 ids) req/s" cell_poll_rps \
    "$(ratio_x "$(kv_get "${CR[$js.poll]:-}" rps)" "$(kv_get "${CR[$r.$(best_baseline "$r" poll rps).poll]:-}" rps)")"
  row "POST /jobs/poll p50 / p99" cell_poll_lat ""
  row "GET answer bytes" cell_bytes ""
  row "peak RSS (VmHWM) after all of the above" cell_hwm ""
  row "errors (end-to-end / GET / poll)" cell_errors ""
  row "CPUs busy with other work just before" cell_busy ""
}

# rate5_verdict R: jobserver's p99 at five times the best baseline's GET req/s against the
# lowest p99 any baseline had at its own saturation, met only when that rate was served
# (99 % of it, no error).
rate5_verdict() {
  local r=$1 x=${CR[$1.jobserver.rate5]:-} l b lowest="" a served
  [[ -n $x ]] || { echo "n/a **missed**"; return; }
  for l in "${CMP_LABELS[@]:1}"; do
    b=$(kv_get "${CR[$r.$l.get]:-}" p99_us)
    [[ -n $b ]] && [[ -z $lowest || $b -lt $lowest ]] && lowest=$b
  done
  a=$(ms_us "$(kv_get "$x" p99_ms)")
  served=$(awk -v got="$(kv_get "$x" achieved_rps)" -v want="${CR[$r.rate5_rps]:-0}" -v e="$(kv_get "$x" errors)" \
    'BEGIN { print (want > 0 && got >= 0.99 * want && e == 0) ? 1 : 0 }')
  local ok=0
  ((served)) && lt "$a" "$lowest" && ok=1
  echo "$(fmt_int "$(kv_get "$x" achieved_rps)") req/s, p99 $(fmt_ms "$a") vs $(fmt_ms "$lowest") $( ((ok)) && echo "**met**" || echo "**missed**")"
}

# compare_report MACHINE VERSIONS: the section, for the servers in CMP_LABELS (jobserver first).
compare_report() {
  local machine=$1 versions=$2
  local r
  echo "## Comparison with the original Node stack (scripts/bench.sh compare)"
  echo
  echo "Measured $CMP_STARTED by \`scripts/bench.sh compare --rounds $ROUNDS\`. **A shared, noisy"
  echo "machine:** $(nproc) cores shared with other people's builds and tests during the run;"
  echo "the client (job_load, wrk), the servers, Postgres, Redis and nginx all run on it too,"
  echo "over loopback. The share of the CPUs other work used just before each server's"
  echo "measurements is in the last row; treat absolute figures as rough and the ratios"
  echo "within one round as the result."
  echo
  echo "- Machine: $machine"
  echo "- Versions: $versions"
  echo "- Same load for every server, each started fresh on its own Postgres schema and Redis"
  echo "  key prefix of the same private Postgres and Redis, one after the other: \`bench/job_load\`"
  echo "  (keep-alive clients, all driven by one client thread with epoll, POST $JOBS noop jobs"
  echo "  over 32 users; the clock runs from the"
  echo "  first POST until Postgres counts them all \`completed\`; one run with each of"
  echo "  ${CLIENTS// / and } clients, each client sending its next POST once answered), then $SEED completed jobs of"
  echo "  one user, then \`wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency\` (after a ${WARMUP}s warm-up, at"
  echo "  nice $(wrk_nice) for every server alike: see run_wrk in scripts/bench.sh) on"
  echo "  GET /jobs/:id (rotating over those jobs) and POST /jobs/poll (20 ids per request);"
  echo "  peak RSS is the process's VmHWM after all of it."
  echo "- GET /jobs/:id at a fixed rate: \`bench/rate_get\`, $RATE req/s for ${DURATION}s (after 2 s not"
  echo "  counted) over 16 keep-alive connections, at wrk's priority, the same for every server."
  echo "  wrk keeps all its connections busy, so it measures each server at its own saturation,"
  echo "  where p99 is mostly the server's own queue (and, on a VM whose cores are all busy,"
  echo "  the host's pauses); here every server gets the same load. The load is open: each"
  echo "  request is due at a fixed time and its latency runs from then, so a server that"
  echo "  stalls is charged for every request it delayed. jobserver is also run at five times the"
  echo "  best baseline's wrk req/s of the round (the baselines run before it in every round):"
  echo "  the target \"5x the req/s with a lower p99\" asked of one run, its p99 against each"
  echo "  baseline's p99 at that baseline's own saturation."
  echo "- Stolen CPU: on a VM, a host that caps the guest's CPU stops a vCPU (for about 100 ms on"
  echo "  the reference machine) once all are busy; the steal shares in the rows and in the raw"
  echo "  wrk lines show it. wrk saturates the machine for jobserver, so its p99 at saturation"
  echo "  can be such a stop; the baseline, one Node process, leaves CPU idle."
  echo "- jobserver: ENABLE_TEST_JOBS=1 LOG_LEVEL=warn TEST_JOB_CONCURRENCY=$CONCURRENCY PER_USER_CONCURRENCY=64,"
  echo "  other settings default (HTTP_THREADS 128, DB_POOL_SIZE 8)."
  echo "- Node baseline (\`bench/baselines/node-bull\`): one process, Express API and Bull worker as"
  echo "  in the original; a POST inserts the row and adds the Bull job; the worker runs three"
  echo "  separate UPDATEs (processing, progress 50, completed); pg pool of 10 (pg's default);"
  echo "  Bull defaults otherwise; worker concurrency ${NODE_CONCURRENCY// /, } (1 is the original's)."
  echo "- nginx: 1 worker, access_log off, a static copy of jobserver's GET answer (the HTTP"
  echo "  ceiling of this machine); its peak RSS is the worker's."
  echo "- Ratios: jobserver against the baseline run with the higher figure in that row (its best"
  echo "  concurrency). The end-to-end target takes each server's best run: the client count"
  echo "  that got the most jobs completed per second, and for the baseline also its best"
  echo "  concurrency. With few clients a server's POST latency can set the pace, since each"
  echo "  client waits for its answer; the rows per client count show both."
  for ((r = 1; r <= ROUNDS; r++)); do
    echo
    ((ROUNDS > 1)) && { echo "Round $r:"; echo; }
    compare_round_table "$r"
  done
  echo
  echo "| target | $(for ((r = 1; r <= ROUNDS; r++)); do printf 'round %d | ' "$r"; done)"
  echo "|---|$(for ((r = 1; r <= ROUNDS; r++)); do printf -- '---|'; done)"
  local t1="| end-to-end ≥ 5x the baseline at its best concurrency (each server's best run) |" t2="| GET /jobs/:id ≥ 5x the baseline's req/s |"
  local t2p="| GET /jobs/:id at 5x the baseline's req/s with a lower p99 (jobserver at 5x the best baseline's wrk req/s, fixed rate, against every baseline's wrk p99) |"
  local t3="| GET /jobs/:id p99 lower than the baseline's (wrk, each at saturation) |"
  local t3r="| GET /jobs/:id p99 lower than the baseline's (the same fixed $RATE req/s) |" t4="| peak RSS under the baseline's (every concurrency) |"
  local be bg a b v
  verdict_of() { if "$@"; then echo "**met**"; else echo "**missed**"; fi; }
  for ((r = 1; r <= ROUNDS; r++)); do
    be=$(best_baseline "$r" e2e e2e_jobs_per_s); bg=$(best_baseline "$r" get rps)
    a=$(kv_get "${CR[$r.jobserver.e2e]:-}" e2e_jobs_per_s); b=$(kv_get "${CR[$r.$be.e2e]:-}" e2e_jobs_per_s)
    v=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a != "" && b > 0) print a / b }')
    t1+=" $(ratio_x "$a" "$b"): $(fmt_int "$a") (${CR[$r.jobserver.e2e_clients]:-?} clients) vs $(fmt_int "$b") (concurrency ${be#node-c}, ${CR[$r.$be.e2e_clients]:-?} clients) $(verdict_of ge "$v" 5) |"
    a=$(kv_get "${CR[$r.jobserver.get]:-}" rps); b=$(kv_get "${CR[$r.$bg.get]:-}" rps)
    v=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a != "" && b > 0) print a / b }')
    t2+=" $(ratio_x "$a" "$b") $(verdict_of ge "$v" 5) |"
    t2p+=" $(rate5_verdict "$r") |"
    a=$(kv_get "${CR[$r.jobserver.get]:-}" p99_us); b=$(kv_get "${CR[$r.$bg.get]:-}" p99_us)
    t3+=" $(fmt_ms "$a") vs $(fmt_ms "$b") $(verdict_of lt "$a" "$b") |"
    a=$(ms_us "$(kv_get "${CR[$r.jobserver.rate]:-}" p99_ms)"); b=$(ms_us "$(kv_get "${CR[$r.$bg.rate]:-}" p99_ms)")
    t3r+=" $(fmt_ms "$a") vs $(fmt_ms "$b") $(verdict_of lt "$a" "$b") |"
    local l max_ok=1 lowest=""
    a=${CR[$r.jobserver.hwm]:-}
    for l in "${CMP_LABELS[@]:1}"; do
      b=${CR[$r.$l.hwm]:-}
      [[ -z $lowest || ( -n $b && $b -lt $lowest ) ]] && lowest=$b
      lt "$a" "$b" || max_ok=0
    done
    t4+=" $(fmt_mib "$a") vs $(fmt_mib "$lowest") (lowest) $( ((max_ok)) && echo "**met**" || echo "**missed**") |"
  done
  echo "$t1"; echo "$t2"; echo "$t2p"; echo "$t3"; echo "$t3r"; echo "$t4"
  echo
  echo "Logs and raw output of the last run: \`.run/bench/compare/round*/<server>/\`."
  if ((${#FAILURES[@]})); then
    echo
    echo "**This run is not clean:**"
    local f
    for f in "${FAILURES[@]}"; do echo "- ${f//$ROOT\//}"; done
  fi
}
