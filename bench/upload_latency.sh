#!/usr/bin/env bash
# Upload answer latency: N uploads of a 20 MB PDF to POST /upload/pdf-structured on
# loopback, one after the other, timed by curl from the first byte sent to the last byte
# of the answer. The server answers before any parsing (the parse jobs run meanwhile).
# Baseline, in the same run, one after each upload: the same 20 MB over loopback TCP into
# a new file in DIR (64 KB reads, written, renamed; no fsync), answered with two bytes —
# what moving and storing the bytes costs without HTTP or multipart.
# Usage: bench/upload_latency.sh URL PDF [N] [DIR]
#   prints "RESULT n=.. accepted=.. p50_ms=.. p95_ms=.. p99_ms=.." and the same for "BASELINE";
#   one upload and one baseline transfer before the N are not counted (warm-up)
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
# Uploads and baseline transfers alternate, and both keep their files until the end, so
# each meets the same state of the page cache and of the machine's write-back (on a VM,
# fresh page-cache pages can cost more than the transfer itself once the pages freed
# earlier are used up).
python3 - "$url" "$work/big.pdf" "$n" "${dir:-$work}" <<'PY'
import os, socket, subprocess, sys, threading, time
url, path, n, store = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def pct(v, p): return v[min(len(v)-1, int(round(p/100*(len(v)-1))))]
data = open(path, 'rb').read()
os.makedirs(store, exist_ok=True)
def upload():
    out = subprocess.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{time_total} %{http_code}',
                          '--max-time', '30', '-F', 'file=@%s;type=application/pdf' % path,
                          url + '/upload/pdf-structured'], capture_output=True, text=True).stdout.split()
    return float(out[0]) * 1000, out[1] == '202'
def loopback_store(i):
    """The same bytes over loopback TCP into a new file (read 64 KB at a time, written,
    renamed), answered with two bytes: what the upload costs without HTTP or multipart."""
    srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)
    def receive():
        c, _ = srv.accept()
        tmp = os.path.join(store, ".baseline-%d.part" % i)
        with open(tmp, 'wb') as f:
            got = 0
            while got < len(data):
                b = c.recv(65536)
                if not b: break
                f.write(b); got += len(b)
        os.rename(tmp, tmp[:-5]); c.sendall(b'ok'); c.close()
    t = threading.Thread(target=receive); t.start()
    t0 = time.perf_counter()
    s = socket.create_connection(srv.getsockname()); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(data); s.recv(2)
    ms = (time.perf_counter() - t0) * 1000
    t.join(); s.close(); srv.close()
    return ms
# One upload and one baseline transfer first, not counted: a fresh server's first upload
# also opens its storage directory and prepares its first statements.
upload(); loopback_store(n)
os.remove(os.path.join(store, ".baseline-%d" % n))
ours, base, rows = [], [], 0
for i in range(n):
    ms, ok = upload()
    rows += 1
    if ok: ours.append(ms)
    base.append(loopback_store(i))
for i in range(n): os.remove(os.path.join(store, ".baseline-%d" % i))
ours.sort(); base.sort()
if not ours: ours = [float('nan')]
print("RESULT n=%d accepted=%d bytes=%d p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (rows, len([x for x in ours if x == x]), len(data), pct(ours, 50), pct(ours, 95), pct(ours, 99), ours[-1]))
print("BASELINE n=%d p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f" % (len(base), pct(base, 50), pct(base, 95), pct(base, 99), base[-1]))
PY
