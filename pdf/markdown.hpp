#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pdf/layout.hpp"

namespace jobserver::pdf::detail {

/// What one section's lines turn into.
struct section_text {
  std::string markdown;
  std::string description;
  int first_page = 0;  // 1-based pages of its first and last printed line; 0 if none
  int last_page = 0;
};

/// Builds the markdown of the lines in [from, to): paragraphs re-flowed (hyphenated line
/// ends joined), `heading` lines as `#`-headings of that level, list items kept, runs of
/// fixed-width lines as code blocks, furniture and consumed lines left out; at most
/// `max_bytes` (cut at a paragraph, with a note).
section_text build_markdown(const std::vector<page_text>& pages, line_pos from, line_pos to,
                            const body_metrics& body, std::size_t max_bytes);

/// A paragraph's first line and its size in bytes, in document order.
struct paragraph_ref {
  line_pos pos;
  std::size_t bytes = 0;
};
std::vector<paragraph_ref> paragraphs(const std::vector<page_text>& pages,
                                      const body_metrics& body);

}  // namespace jobserver::pdf::detail
