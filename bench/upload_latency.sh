#!/usr/bin/env bash
# Upload answer latency: N uploads of a 20 MB PDF to POST /upload/pdf-structured on
# loopback, one after the other, timed by curl from the first byte sent to the last byte
# of the answer. The server answers before any parsing (the parse jobs run meanwhile).
# Baseline, in the same run: N transfers of the same 20 MB over loopback TCP into a new
# file in DIR (64 KB reads, written, renamed; no fsync), answered with two bytes — what
# moving and storing the bytes costs without HTTP or multipart.
# Usage: bench/upload_latency.sh URL PDF [N] [DIR]
#   prints "RESULT n=.. accepted=.. p50_ms=.. p99_ms=.." and "BASELINE n=.. p50_ms=.. p99_ms=.."
set -euo pipefail
url=$1 pdf=$2 n=${3:-40} dir=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A 20 MB file that is still the same valid PDF: a comment line of padding goes in just
# before the final `startxref` (after every object and the cross-reference table, so no
# offset moves), and the file still ends with %%EOF. The server really parses it.
python3 - "$pdf" "$work/big.pdf" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
at = data.rfind(b'startxref')
assert at > 0, 'no startxref in ' + sys.argv[1]
pad = max(0, 20 * 1024 * 1024 - len(data) - 2)
open(sys.argv[2], 'wb').write(data[:at] + b'%' + b'0' * pad + b'\n' + data[at:])
PY
for ((i = 0; i < n; i++)); do
  curl -sS -o /dev/null -w '%{time_total} %{http_code}\n' --max-time 30 \
    -F "file=@$work/big.pdf;type=application/pdf" "$url/upload/pdf-structured" >>"$work/times"
done
sync  # the uploads' dirty pages must not slow the baseline's writes
python3 - "$work/times" "$(stat -c %s "$work/big.pdf")" "$work/big.pdf" "$n" "${dir:-$work}" <<'PY'
import os, socket, sys, threading, time
def pct(v, p): return v[min(len(v)-1, int(round(p/100*(len(v)-1))))]
rows=[l.split() for l in open(sys.argv[1])]
ok=sorted(float(t)*1000 for t,c in rows if c=="202")
print("RESULT n=%d accepted=%d bytes=%s p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (len(rows), len(ok), sys.argv[2], pct(ok,50), pct(ok,99), ok[-1]))
data=open(sys.argv[3],'rb').read()
def loopback_store(i):
    """The same bytes over loopback TCP into a new file (read 64 KB at a time, written,
    renamed), answered with two bytes: what the upload costs without HTTP or multipart."""
    srv=socket.socket(); srv.bind(('127.0.0.1',0)); srv.listen(1)
    def receive():
        c,_=srv.accept()
        tmp=os.path.join(sys.argv[5], ".baseline-%d.part" % i)
        with open(tmp,'wb') as f:
            n=0
            while n < len(data):
                b=c.recv(65536)
                if not b: break
                f.write(b); n+=len(b)
        os.rename(tmp, tmp[:-5]); c.sendall(b'ok'); c.close()
    t=threading.Thread(target=receive); t.start()
    t0=time.perf_counter()
    s=socket.create_connection(srv.getsockname()); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(data); s.recv(2)
    ms=(time.perf_counter()-t0)*1000
    t.join(); s.close(); srv.close(); os.remove(os.path.join(sys.argv[5], ".baseline-%d" % i))
    return ms
os.makedirs(sys.argv[5], exist_ok=True)
times=sorted(loopback_store(i) for i in range(int(sys.argv[4])))
print("BASELINE n=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (len(times), pct(times,50), pct(times,99), times[-1]))
PY
