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
outline_score score_outline(const std::vector<reference_entry>& reference,
                            const document_structure& doc);

/// The PDFs in `dir` (sorted), or in $PDF_CORPUS_DIR when that is set.
std::vector<std::string> corpus_files(const std::string& dir);

}  // namespace jobserver::pdf::test
