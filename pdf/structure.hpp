#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pdf/extractor.hpp"
#include "pdf/layout.hpp"

namespace jobserver::pdf::detail {

/// Turns the read pages into sections: (a) from the outline when at least two of its
/// top-level entries can be placed, else (b) from top-level headings, else (c) as chunks
/// of paragraphs. Reports progress 70..90 and calls `check_stop` (which throws) between
/// steps. Marks furniture, headings and title lines on `pages` as it goes.
document_structure build_structure(std::vector<page_text>& pages,
                                   const std::vector<outline_item>& outline,
                                   const std::string& metadata_title,
                                   const std::function<void(int)>& progress,
                                   const std::function<void()>& check_stop);

}  // namespace jobserver::pdf::detail
