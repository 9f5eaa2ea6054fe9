#!/usr/bin/env bash
# Fetches the real-world PDF corpus: manuals with an outline from Debian documentation
# packages (`apt-get download` + `dpkg-deb`), into a cache that later runs reuse.
#
# Usage: scripts/fetch-pdfs.sh          prints the corpus directory on stdout
# Env:   PDF_CORPUS_DIR  where the PDFs go (default .run/pdf-corpus; not committed)
#
# Used by the [corpus] test of tests/pdf (which warns and passes when the corpus is
# absent) and by `scripts/bench.sh pdf`. About 17 MB is downloaded once (a few seconds);
# a run with a full cache does nothing and takes well under a second.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
CORPUS=${PDF_CORPUS_DIR:-$ROOT/.run/pdf-corpus}

# package | path inside the package | name in the corpus
CORPUS_FILES=(
  "r-doc-pdf|usr/share/R/doc/manual/R-intro.pdf|R-intro.pdf"
  "r-doc-pdf|usr/share/R/doc/manual/R-exts.pdf|R-exts.pdf"
  "gnuplot-doc|usr/share/doc/gnuplot/gnuplot.pdf|gnuplot.pdf"
  "asymptote-doc|usr/share/doc/asymptote/asymptote.pdf|asymptote.pdf"
)

log() { echo "fetch-pdfs.sh: $*" >&2; }
die() { echo "fetch-pdfs.sh: ERROR: $*" >&2; exit 1; }

for tool in apt-get dpkg-deb pdfinfo pdftohtml; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs poppler-utils)"
done

mkdir -p "$CORPUS"
missing=()
for entry in "${CORPUS_FILES[@]}"; do
  IFS='|' read -r pkg _ name <<<"$entry"
  [[ -s $CORPUS/$name ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  echo "$CORPUS"
  exit 0
fi

mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
debs=$(mktemp -d "$CORPUS/.debs.XXXXXX")
trap 'rm -rf "$debs"' EXIT

policy=$(apt-cache policy "${packages[@]}" 2>/dev/null || true)
if [[ $policy != *"Candidate: "[0-9]* ]]; then
  [[ $(id -u) -eq 0 ]] || die "apt lists are empty; run apt-get update as root first"
  log "apt-get update (package lists are missing)"
  apt-get update -qq >&2
fi
log "downloading ${packages[*]}"
(cd "$debs" && apt-get download -qq -o APT::Sandbox::User=root "${packages[@]}" >&2) ||
  die "apt-get download ${packages[*]} failed"

for entry in "${CORPUS_FILES[@]}"; do
  IFS='|' read -r pkg path name <<<"$entry"
  [[ -s $CORPUS/$name ]] && continue
  downloaded=("$debs"/"${pkg}"_*.deb)
  deb=${downloaded[0]}
  [[ -f $deb ]] || die "no .deb downloaded for $pkg"
  tmp="$CORPUS/.$name.tmp"
  dpkg-deb --fsys-tarfile "$deb" | tar -xOf - "./$path" >"$tmp" || die "$path not found in $pkg"
  pages=$(pdfinfo "$tmp" 2>/dev/null | sed -n 's/^Pages:[[:space:]]*//p')
  items=$(pdftohtml -xml -i -q -stdout -f 1 -l 1 "$tmp" 2>/dev/null | grep -c '<item' || true)
  [[ -n $pages && $items -gt 0 ]] || die "$name from $pkg is not a PDF with an outline"
  mv "$tmp" "$CORPUS/$name"
  log "$name: $pages pages, $items outline entries ($pkg)"
done
echo "$CORPUS"
