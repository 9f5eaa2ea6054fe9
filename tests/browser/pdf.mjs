// A small text PDF for the upload scenarios: one page per chapter, a bold 18 pt heading
// ("N Topic name") over 11 pt prose, so jobserver's Poppler extraction finds one section
// per chapter (as tests/pdf/pdf_writer.cpp does for the C++ tests).

const SUBJECTS = ['The method', 'Each student', 'A careful reader', 'The model', 'This approach',
  'The teacher', 'Every example', 'The result'];
const VERBS = ['explains', 'measures', 'compares', 'describes', 'predicts', 'summarises',
  'illustrates', 'questions'];
const OBJECTS = ['the growth of cells', 'a simple experiment', 'the main idea', 'the data in the table',
  'several related topics', 'the history of the field', 'a common mistake', 'the next chapter'];

function prose(seed, sentences) {
  const out = [];
  for (let i = 0; i < sentences; i++) {
    const k = seed * 7 + i * 3;
    out.push(`${SUBJECTS[k % 8]} ${VERBS[(k + seed) % 8]} ${OBJECTS[(k * 5 + i) % 8]}.`);
  }
  return out.join(' ');
}

function wrap(text, maxChars) {
  const lines = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

const pdfString = (s) => `(${s.replace(/[()\\]/g, (c) => `\\${c}`)})`;

/**
 * @param {string[]} chapters heading text per chapter (ASCII)
 * @returns {Buffer} a PDF 1.4 file with an exact cross-reference table
 */
export function chaptersPdf(chapters) {
  const height = 792;
  const objects = [];
  const n = chapters.length;
  const pageId = (p) => 6 + 2 * p;  // 1-based object ids: page p (0-based) and its content
  objects.push('<< /Type /Catalog /Pages 2 0 R >>');
  objects.push(`<< /Type /Pages /Kids [${chapters.map((_, p) => `${pageId(p)} 0 R`).join(' ')}] /Count ${n} >>`);
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>');
  objects.push('<< >>');
  chapters.forEach((heading, p) => {
    let y = 72 + 18 * 1.2;
    let content = `BT /F2 18 Tf 1 0 0 1 72 ${height - y} Tm ${pdfString(heading)} Tj ET\n`;
    y += 18 * 0.6;
    for (const para of [prose(p + 1, 12), prose(p + 11, 10)]) {
      for (const line of wrap(para, 85)) {
        y += 11 * 1.25;
        content += `BT /F1 11 Tf 1 0 0 1 72 ${height - y} Tm ${pdfString(line)} Tj ET\n`;
      }
      y += 11 * 0.9;
    }
    objects.push(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 ${height}] ` +
      `/Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${pageId(p) + 1} 0 R >>`);
    objects.push(`<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`);
  });
  let out = '%PDF-1.4\n%\xE2\xE3\xCF\xD3\n';
  const offsets = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 5 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** `count` chapters named "N Chapter about topic N". */
export function coursePdf(count) {
  return chaptersPdf(Array.from({ length: count }, (_, i) => `${i + 1} Chapter about topic ${i + 1}`));
}
