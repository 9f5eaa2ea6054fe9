#pragma once

// The only code of the library that talks to Poppler. It uses Poppler's core text layout
// (TextOutputDev: flows -> blocks -> lines -> words, with font names and sizes) rather than
// poppler-cpp, whose text_list() copies the cross-reference table and every font's
// description for each page and so runs at ~3x the time of pdftotext.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pdf/layout.hpp"

class PDFDoc;
class TextOutputDev;

namespace jobserver::pdf::detail {

/// Checks the raw bytes before Poppler parses anything: a "%PDF-" header in the first KiB
/// and an "%%EOF" marker near the end (a truncated upload has none). Throws app_error.
void check_pdf_file(const std::string& path);

class poppler_reader {
 public:
  /// Opens the document. Throws app_error for a damaged or password-protected file.
  explicit poppler_reader(const std::string& path);
  ~poppler_reader();
  poppler_reader(const poppler_reader&) = delete;
  poppler_reader& operator=(const poppler_reader&) = delete;

  int page_count() const { return pages_; }

  /// The Info dictionary's Title, as UTF-8 (may be empty).
  std::string metadata_title() const;

  /// The outline, three levels deep at most, with each entry's destination page.
  std::vector<outline_item> outline() const;

  /// The lines of page `number` (1-based) in reading order. `stop` is polled while Poppler
  /// draws the page; once it returns true the page is abandoned (and comes back partial).
  page_text read_page(int number, const std::function<bool()>& stop);

 private:
  std::unique_ptr<PDFDoc> doc_;
  std::unique_ptr<TextOutputDev> dev_;
  int pages_ = 0;
};

}  // namespace jobserver::pdf::detail
