#pragma once

#include <functional>
#include <string>
#include <vector>

namespace jobserver::pdf {

/// One top-level part of a document: an outline entry, a top-level heading, or a chunk.
/// A chapter's subsections stay inside `markdown` as `##` / `###` headings.
struct section {
  int number = 0;           // 1, 2, ... in document order
  std::string name;         // the outline title or heading text, as printed
  std::string description;  // its first one or two sentences
  std::string markdown;     // re-flowed text; running headers, footers, page numbers removed
  int page_start = 0;       // 1-based, inclusive
  int page_end = 0;
};

struct document_structure {
  std::string title;  // metadata title, else the first heading, else ""
  int page_count = 0;
  std::vector<section> sections;
  std::string method;  // "outline" | "headings" | "chunks"
};

struct extract_options {
  int max_pages = 2000;
  /// Called with a rising percentage: 5 opened, 10-70 reading pages, 70-90 structuring.
  /// The caller reports 100 itself once the result is committed.
  std::function<void(int pct)> progress;
  /// Polled between pages (and while a page is being read); true stops the extraction.
  std::function<bool()> should_stop;
};

/// Reads the PDF at `path` page by page and finds its sections.
///
/// Throws app_error (transient = false) for permanent failures:
///  - errc::unsupported   "PDF is damaged or not a PDF: ..." when the file has no %PDF header
///  - errc::invalid_input "PDF is damaged or not a PDF: ..." when it is truncated or unreadable
///  - errc::unsupported   "PDF is password-protected"
///  - errc::invalid_input "PDF has N pages; the limit is M"
///  - errc::unsupported   "No extractable text (scanned PDF?)"
///  - errc::not_found     "PDF file cannot be read" when the file is missing or unreadable
/// and app_error(errc::cancelled, "stopped") when `should_stop` returns true.
document_structure extract_structure(const std::string& path, const extract_options& opts);

}  // namespace jobserver::pdf
