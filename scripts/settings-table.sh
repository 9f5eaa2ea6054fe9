#!/usr/bin/env bash
# Prints the README's settings table from `jobserver --help` (the single source).
# Usage: scripts/settings-table.sh [path/to/jobserver]
set -euo pipefail
BIN=${1:-build/jobserver}
"$BIN" --help | awk '
  /^  --/ { flag = $1; next }
  /^      env / {
    env = $2; sub(/,$/, "", env)
    def = $0; sub(/.*default /, "", def)
    if (def == "") def = "(empty)"
    getline meaning; sub(/^ +/, "", meaning)
    printf "| `%s` | `%s` | `%s` | %s |\n", env, flag, def, meaning
  }'
