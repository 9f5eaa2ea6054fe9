#pragma once

// Internal types of the pdf library: what a page looks like once read, and positions in
// the document. Nothing here depends on Poppler.

#include <cstdint>
#include <string>
#include <vector>

namespace jobserver::pdf::detail {

/// One line of text as Poppler laid it out, in reading order. Coordinates are points,
/// with y growing downwards from the top of the page.
struct text_line {
  std::string text;  // UTF-8, sanitised, words separated by single spaces
  float size = 0;    // dominant font size
  float x0 = 0, x1 = 0, top = 0, bottom = 0;
  uint16_t block = 0;  // index of Poppler's text block on the page (a paragraph hint)
  bool bold = false;   // (nearly) all of its characters are in a bold font
  bool mono = false;   // (nearly) all of its characters are in a fixed-width font

  // Filled by the structuring passes.
  std::string key;            // normalize_for_match(text), to compare with outline titles
  bool furniture = false;     // running header/footer or page number: never output
  bool consumed = false;      // printed as the section's name: not repeated in markdown
  int8_t heading = 0;         // 0 = body text, 1 (largest) .. 4
  bool heading_cont = false;  // continues the heading on the previous line
};

struct page_text {
  int number = 0;  // 1-based
  float width = 0, height = 0;
  bool contents = false;  // looks like a table of contents (set by mark_furniture)
  std::vector<text_line> lines;
};

/// A line in the document: page index (0-based) and line index on that page.
struct line_pos {
  int page = 0;
  int line = 0;
  bool operator<(const line_pos& o) const { return page != o.page ? page < o.page : line < o.line; }
  bool operator==(const line_pos& o) const { return page == o.page && line == o.line; }
  bool operator<=(const line_pos& o) const { return !(o < *this); }
};

/// An outline (bookmark) entry with the page its destination points at, when known.
struct outline_item {
  std::string title;
  int page = 0;    // 1-based; 0 = unknown
  float top = -1;  // y of the destination from the top of the page; < 0 = unknown
  std::vector<outline_item> children;
};

/// Statistics of the body text, used by every pass that compares sizes.
struct body_metrics {
  float size = 10;     // the font size of most characters
  float leading = 12;  // usual distance between the tops of two body lines
};

}  // namespace jobserver::pdf::detail
