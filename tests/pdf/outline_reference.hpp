#pragma once

// The expected answer for a real PDF: its own outline, with each top-level entry's
// destination page as Poppler's pdftohtml resolves it. Shared by the [corpus] test and
// bench/pdf_bench.cpp.

#include <string>
#include <vector>

#include "pdf/extractor.hpp"

namespace jobserver::pdf::test {

struct reference_entry {
  std::string title;
  int page = 0;  // 0 when the entry has no resolvable destination
};

/// Top-level outline entries of `pdf` (`pdftohtml -xml`); empty when it has no outline.
/// Throws std::runtime_error when pdftohtml cannot be run.
std::vector<reference_entry> reference_outline(const std::string& pdf);

struct outline_score {
  int titles = 0;         // top-level outline entries
  int named = 0;          // ... that are a section's name (in order)
  int named_on_page = 0;  // ... and that section starts on the entry's page
};
/// With `lenient`, a name also matches when one ends with the other at a word boundary
/// ("Part I Gnuplot" for "I Gnuplot"), as printed headings carry such prefixes.
outline_score score_outline(const std::vector<reference_entry>& reference,
                            const document_structure& doc, bool lenient = false);

/// extract_structure() as if the outline had no destinations, so that every entry is
/// placed by matching its title against the printed lines alone; or as if the PDF had no
/// outline at all, so that sections come from the headings.
enum class outline_use { titles_only, ignored };
document_structure extract_without_destinations(const std::string& pdf, outline_use use);

/// The PDFs in `dir` (sorted), or in $PDF_CORPUS_DIR when that is set.
std::vector<std::string> corpus_files(const std::string& dir);

}  // namespace jobserver::pdf::test
