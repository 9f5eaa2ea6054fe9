#pragma once

#include <vector>

#include "pdf/layout.hpp"

namespace jobserver::pdf::detail {

/// Marks running headers and footers (lines at the top or bottom of many pages whose text,
/// digits aside, repeats) and page numbers as `furniture`, which is never output.
void mark_furniture(std::vector<page_text>& pages, const body_metrics& body);

}  // namespace jobserver::pdf::detail
