#!/usr/bin/env python3
"""Writes the PDFs that `scripts/bench.sh soak` uploads: bench/soak/notes.pdf, three pages,
each a numbered bold heading and a paragraph of plain text, with an outline; and
bench/soak/long.pdf, the same sections repeated over 150 pages (slow enough to parse that
a cancel sent right after the upload finds the job still running).
The PDFs are committed; this script only documents how they were made
(python3 bench/soak/make_pdf.py)."""
import os
import textwrap

SECTIONS = [
    ("1 Queues and Workers",
     "A job queue decouples the request that asks for work from the worker that does it. "
     "The producer stores a record of the job and pushes its identifier to the queue. "
     "A worker claims the identifier, marks the job as processing, reports progress and "
     "finally records the result. Clients poll the job record until it is completed or failed. "
     "Fairness means that one busy user cannot starve the others; leases mean that a worker "
     "that dies does not keep its jobs forever."),
    ("2 Leases and Fencing",
     "A lease is a promise with a deadline. The worker renews it with heartbeats while it runs "
     "the job. When the deadline passes without renewal, another worker may take the job over. "
     "A fencing token, increased on every takeover, travels with every write, so a slow worker "
     "that lost its lease can no longer change the record. Retries use exponential backoff "
     "with jitter so that failures do not synchronise into storms."),
    ("3 Observing a System",
     "Metrics count what happens: jobs created, claimed, completed and failed, and the time each "
     "phase took. Logs tell one line per transition. A soak test runs a mixed load for a long "
     "time and watches memory, open files, threads and database connections: a figure that "
     "keeps growing after the warm-up is a leak, and a leak eventually takes the server down."),
]


def esc(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def page_stream(title, body):
    lines = ["BT", "/F2 16 Tf", "72 720 Td", f"({esc(title)}) Tj", "ET"]
    y = 690
    for line in textwrap.wrap(body, 90):
        lines += ["BT", "/F1 11 Tf", f"72 {y} Td", f"({esc(line)}) Tj", "ET"]
        y -= 15
    return "\n".join(lines).encode("latin-1")


def write(name, sections):
    n = len(sections)
    first_page = 5                      # 1 catalog, 2 pages, 3-4 fonts
    outline_root = first_page + 2 * n
    objs = {}
    objs[1] = f"<< /Type /Catalog /Pages 2 0 R /Outlines {outline_root} 0 R >>".encode()
    kids = " ".join(f"{first_page + 2 * i} 0 R" for i in range(n))
    objs[2] = f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode()
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    objs[4] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
    for i, (title, body) in enumerate(sections):
        page, content = first_page + 2 * i, first_page + 2 * i + 1
        objs[page] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                      f"/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {content} 0 R >>").encode()
        data = page_stream(title, body)
        objs[content] = f"<< /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"
    items = [outline_root + 1 + i for i in range(n)]
    objs[outline_root] = f"<< /Type /Outlines /First {items[0]} 0 R /Last {items[-1]} 0 R /Count {n} >>".encode()
    for i, (title, _) in enumerate(sections):
        o = f"<< /Title ({esc(title)}) /Parent {outline_root} 0 R /Dest [{first_page + 2 * i} 0 R /XYZ 0 792 0]"
        if i > 0:
            o += f" /Prev {items[i - 1]} 0 R"
        if i + 1 < n:
            o += f" /Next {items[i + 1]} 0 R"
        objs[items[i]] = (o + " >>").encode()
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for k in sorted(objs):
        offsets[k] = len(out)
        out += f"{k} 0 obj\n".encode() + objs[k] + b"\nendobj\n"
    xref = len(out)
    size = max(objs) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for k in range(1, size):
        out += f"{offsets[k]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    with open(path, "wb") as f:
        f.write(out)


def main():
    write("notes.pdf", SECTIONS)
    long = []
    for k in range(50):
        for title, body in SECTIONS:
            number, rest = title.split(" ", 1)
            long.append((f"{3 * k + int(number)} {rest}", body))
    write("long.pdf", long)


if __name__ == "__main__":
    main()
