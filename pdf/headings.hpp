#pragma once

#include <string>
#include <vector>

#include "pdf/layout.hpp"

namespace jobserver::pdf::detail {

/// The font size of most body characters and the usual line spacing.
body_metrics measure_body(const std::vector<page_text>& pages);

/// Marks heading lines: `heading` = 1 (largest) .. 4, from font size, weight and numbering
/// ("1", "1.2", "Chapter 3", "Part II"); a heading printed over several lines has its
/// later lines marked `heading_cont`.
void mark_headings(std::vector<page_text>& pages, const body_metrics& body);

/// A heading as printed: where it starts, its level, its lines joined.
struct heading_ref {
  line_pos pos;
  int level = 0;
  int lines = 1;
  float size = 0;
  std::string text;
};

/// Every heading in document order (after mark_headings).
std::vector<heading_ref> collect_headings(const std::vector<page_text>& pages);

/// The level that top-level sections start at: the highest level used at least twice;
/// 0 when there is none.
int top_level(const std::vector<heading_ref>& headings);

/// The document's title as printed: the largest heading on the first two pages, else the
/// first heading; "" when there is none.
std::string printed_title(const std::vector<heading_ref>& headings);

}  // namespace jobserver::pdf::detail
