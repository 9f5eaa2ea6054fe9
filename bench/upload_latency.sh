#!/usr/bin/env bash
# Upload answer latency: N uploads of a 20 MB PDF to POST /upload/pdf-structured on
# loopback, one after the other, timed by curl from the first byte sent to the last byte
# of the answer. The server answers before any parsing (the parse jobs run meanwhile).
# Usage: bench/upload_latency.sh URL PDF [N]     prints "RESULT n=.. p50_ms=.. p99_ms=.."
set -euo pipefail
url=$1 pdf=$2 n=${3:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A 20 MB file: the real PDF followed by padding (readers ignore bytes after %%EOF).
cp "$pdf" "$work/big.pdf"
size=$(stat -c %s "$work/big.pdf")
if ((size < 20 * 1024 * 1024)); then
  head -c $((20 * 1024 * 1024 - size)) /dev/zero >>"$work/big.pdf"
fi
for ((i = 0; i < n; i++)); do
  curl -sS -o /dev/null -w '%{time_total} %{http_code}\n' --max-time 30 \
    -F "file=@$work/big.pdf;type=application/pdf" "$url/upload/pdf-structured" >>"$work/times"
done
python3 - "$work/times" "$(stat -c %s "$work/big.pdf")" <<'PY'
import sys
rows=[l.split() for l in open(sys.argv[1])]
ok=[float(t)*1000 for t,c in rows if c=="202"]
ok.sort()
def pct(p): return ok[min(len(ok)-1, int(round(p/100*(len(ok)-1))))]
print("RESULT n=%d accepted=%d bytes=%s p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (len(rows), len(ok), sys.argv[2], pct(50), pct(99), ok[-1]))
PY
