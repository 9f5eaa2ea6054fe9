# shellcheck shell=bash
# `scripts/bench.sh indexes`: what the indexes on `jobs` cost the end-to-end noop
# throughput. Alternating rounds, each on a fresh server, schema and Redis prefix: the
# schema as built (migration 003: primary key, (owner_id, created_at, id), a partial index
# of unfinished jobs), against the same schema with the four single-column indexes of the
# first schema (owner_id, status, type, created_at) created again. Everything else is the
# same binary and settings. Before each run the table is filled with finished jobs of the
# last 24 hours (--prefill, 500,000), as retention leaves it on a server in use: an index
# costs most when it is large and full of entries that state changes left dead. Reports
# jobs/s, CPU of the whole machine per job, the CPU of the Postgres processes, and the WAL
# Postgres wrote per job.
# Sourced by scripts/bench.sh.

# CPU seconds (user + system) of the processes named $1, with their reaped children's
# (Postgres' postmaster collects its exited backends and autovacuum workers).
proc_cpu_seconds() {
  local name=$1 tick
  tick=$(getconf CLK_TCK)
  # A process may end between the glob and the read: cat goes on, and so do we.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v want="$name" -v tick="$tick" '
    { line = $0; sub(/^[0-9]+ \(/, "", line); name = line; sub(/\) .*/, "", name)
      if (name != want) next
      sub(/^.*\) /, "", line); split(line, f, " "); sum += f[12] + f[13] + f[14] + f[15] }
    END { printf "%.2f\n", sum / tick }'
}

# Busy jiffies of the whole machine (all CPUs), from /proc/stat.
machine_busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# indexes_round LABEL FORMER(0|1) OUT_DIR: one measured run; sets IDX_RESULT to
# "jobs_per_s cpu_ms_per_job pg_s wal_kb_per_job" (not a subshell: the cleanups it
# registers must stay).
indexes_round() {
  local label=$1 former=$2 out=$3 pg0 pg1 m0 m1 w0 w1 wal result rate
  isolate "idx$label"
  start_jobserver "$out/jobserver-$label.log" ENABLE_TEST_JOBS=1 LOG_LEVEL=warn \
    TEST_JOB_CONCURRENCY="$IDX_CONCURRENCY" PER_USER_CONCURRENCY=64
  if ((former)); then
    psql_app -c "CREATE INDEX ON $BENCH_SCHEMA.jobs (owner_id);
                 CREATE INDEX ON $BENCH_SCHEMA.jobs (status);
                 CREATE INDEX ON $BENCH_SCHEMA.jobs (type);
                 CREATE INDEX ON $BENCH_SCHEMA.jobs (created_at);" >/dev/null ||
      die "cannot create the former indexes"
  fi
  if ((IDX_PREFILL > 0)); then
    psql_app -c "SET app.system = 'on';
      INSERT INTO $BENCH_SCHEMA.jobs (id, owner_id, type, status, progress, result, created_at,
                                      started_at, completed_at, updated_at, attempts)
      SELECT gen_random_uuid(), 'bench-user-' || (i % 32), 'noop', 'completed', 100,
             '{\"ok\":true}', t, t, t, t, 1
        FROM generate_series(1, $IDX_PREFILL) AS i,
             LATERAL (SELECT now() - interval '24 hours' * i / $IDX_PREFILL) AS x(t);" \
      -c "VACUUM ANALYZE $BENCH_SCHEMA.jobs" >/dev/null || die "cannot prefill jobs"
  fi
  w0=$(psql_app -Atc "SELECT pg_current_wal_lsn()")
  pg0=$(proc_cpu_seconds postgres); m0=$(machine_busy_jiffies)
  result=$(timeout 900 "$ROOT/$BUILD_DIR/bench/job_load" throughput --url "$SERVER_URL" \
             --db "$DATABASE_URL" --clients 32 --jobs "$IDX_JOBS" --users 32 |
           tee "$out/throughput-$label.txt" | grep '^RESULT ' | tail -n 1) ||
    die "end-to-end run $label failed (see $out/throughput-$label.txt)"
  pg1=$(proc_cpu_seconds postgres); m1=$(machine_busy_jiffies)
  w1=$(psql_app -Atc "SELECT pg_current_wal_lsn()")
  wal=$(psql_app -Atc "SELECT pg_wal_lsn_diff('$w1', '$w0')")
  server_alive || { server_death; die "jobserver died during run $label: $SERVER_DEATH"; }
  stop_pid "$SERVER_PID" 20 jobserver
  rate=$(kv_get "$result" e2e_jobs_per_s)
  IDX_RESULT=$(awk -v r="$rate" -v m=$((m1 - m0)) -v tick="$(getconf CLK_TCK)" -v n="$IDX_JOBS" \
      -v p0="$pg0" -v p1="$pg1" -v w="$wal" \
      'BEGIN { printf "%s %.3f %.2f %.2f\n", r, m / tick * 1000 / n, p1 - p0, w / 1024 / n }')
}

cmd_indexes() {
  IDX_JOBS=20000 IDX_CONCURRENCY=256 IDX_PREFILL=500000
  local rounds=3 idle_wait=120 write=1 out r machine versions
  while (($#)); do
    case $1 in
      --jobs) IDX_JOBS=${2:?--jobs needs a value}; shift 2 ;;
      --concurrency) IDX_CONCURRENCY=${2:?--concurrency needs a value}; shift 2 ;;
      --rounds) rounds=${2:?--rounds needs a value}; shift 2 ;;
      --prefill) IDX_PREFILL=${2:?--prefill needs a value}; shift 2 ;;
      --idle-wait) idle_wait=${2:?--idle-wait needs a value}; shift 2 ;;
      --no-write) write=0; shift ;;
      *) die "indexes: unknown option $1 (see scripts/bench.sh --help)" ;;
    esac
  done
  local n
  for n in "$IDX_JOBS" "$IDX_CONCURRENCY" "$IDX_PREFILL" "$rounds" "$idle_wait"; do
    [[ $n =~ ^[0-9]+$ ]] || die "indexes: options take whole numbers (got '$n')"
  done
  build job_load jobserver
  machine=$(machine_line); versions=$(versions_line)
  out="$ROOT/.run/bench/indexes"
  rm -rf "$out" && mkdir -p "$out"
  chmod go+x "$ROOT/.run" "$ROOT/.run/bench"
  start_services
  wait_for_idle "$idle_wait" 25
  local -a built=() former=()
  for ((r = 1; r <= rounds; r++)); do
    # Alternate which variant goes first, so drift over time favours neither.
    if ((r % 2)); then
      indexes_round "${r}a" 0 "$out"; built+=("$IDX_RESULT")
      indexes_round "${r}b" 1 "$out"; former+=("$IDX_RESULT")
    else
      indexes_round "${r}b" 1 "$out"; former+=("$IDX_RESULT")
      indexes_round "${r}a" 0 "$out"; built+=("$IDX_RESULT")
    fi
    log "round $r: as built ${built[-1]}; former indexes ${former[-1]} (jobs/s, CPU ms/job, Postgres CPU s)"
  done
  median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  col() { local i=$1; shift; local x; for x in "$@"; do awk -v i="$i" '{ print $i }' <<<"$x"; done; }
  local b_rate f_rate b_cpu f_cpu b_pg f_pg b_wal f_wal br bc bp bw fr fc fp fw
  b_rate=$(col 1 "${built[@]}" | median); f_rate=$(col 1 "${former[@]}" | median)
  b_cpu=$(col 2 "${built[@]}" | median); f_cpu=$(col 2 "${former[@]}" | median)
  b_pg=$(col 3 "${built[@]}" | median); f_pg=$(col 3 "${former[@]}" | median)
  b_wal=$(col 4 "${built[@]}" | median); f_wal=$(col 4 "${former[@]}" | median)
  {
    echo "## Job indexes (scripts/bench.sh indexes)"
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`scripts/bench.sh indexes\`: $rounds alternating"
    echo "rounds of the end-to-end noop run (\`bench/job_load\`, $IDX_JOBS jobs, 32 clients, 32 users,"
    echo "TEST_JOB_CONCURRENCY=$IDX_CONCURRENCY), each on a fresh server, schema and Redis prefix,"
    echo "the table first filled with $IDX_PREFILL finished jobs of the last 24 hours (then VACUUM ANALYZE)."
    echo "\"As built\" is migration 003 (primary key, \`(owner_id, created_at DESC, id DESC)\`, unfinished"
    echo "jobs by \`created_at\`); \"former\" adds back the single-column indexes on \`owner_id\`,"
    echo "\`status\`, \`type\` and \`created_at\` of the first schema. CPU per job: all processes of the"
    echo "machine (2 cores) over the run; Postgres: all its processes, ended ones included."
    echo
    echo "- Machine: $machine"
    echo "- Versions: $versions"
    echo
    echo "| round | as built: jobs/s | CPU ms/job | Postgres CPU s | WAL KB/job | former: jobs/s | CPU ms/job | Postgres CPU s | WAL KB/job |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for ((r = 0; r < rounds; r++)); do
      read -r br bc bp bw <<<"${built[$r]}"; read -r fr fc fp fw <<<"${former[$r]}"
      echo "| $((r + 1)) | $(fmt_int "$br") | $bc | $bp | $bw | $(fmt_int "$fr") | $fc | $fp | $fw |"
    done
    echo "| median | $(fmt_int "$b_rate") | $b_cpu | $b_pg | $b_wal | $(fmt_int "$f_rate") | $f_cpu | $f_pg | $f_wal |"
    echo
    echo "As built against former, medians: jobs/s $(awk -v a="$b_rate" -v b="$f_rate" 'BEGIN { printf "%.2fx", a / b }'),"
    echo "CPU per job $(awk -v a="$b_cpu" -v b="$f_cpu" 'BEGIN { printf "%.2fx", a / b }'),"
    echo "Postgres CPU $(awk -v a="$b_pg" -v b="$f_pg" 'BEGIN { printf "%.2fx", a / b }'),"
    echo "WAL written $(awk -v a="$b_wal" -v b="$f_wal" 'BEGIN { printf "%.2fx", a / b }')."
    echo "WAL counts every write of the cluster during the run, full-page images after a"
    echo "checkpoint included."
  } >"$out/section.md"
  echo
  cat "$out/section.md"
  if ((write)); then write_section "Job indexes (scripts/bench.sh indexes)" "$out/section.md"; fi
}
