#pragma once

#include <string>
#include <vector>

#include "pdf/layout.hpp"

namespace jobserver::pdf::detail {

/// Where an outline entry was found: its first line and how many lines print its title.
struct located_entry {
  const outline_item* item = nullptr;
  line_pos pos;
  int title_lines = 0;  // 0 when only its destination was found, not its printed title
};

/// Finds `items` in the document, in order, between `from` (inclusive) and `to`
/// (exclusive). An entry whose destination page is known is looked for as a printed
/// title on that page or the next, else placed at its destination; one without a
/// destination is searched for forward from the previous match, preferring heading-like
/// lines (titles are compared case-, space- and punctuation-insensitively).
/// Entries that cannot be placed are left out. Lines must have their `key` set.
std::vector<located_entry> locate_outline(const std::vector<page_text>& pages,
                                          const std::vector<outline_item>& items,
                                          const body_metrics& body, line_pos from, line_pos to);

/// The end of the document as a position (one past the last line).
line_pos end_of(const std::vector<page_text>& pages);

}  // namespace jobserver::pdf::detail
