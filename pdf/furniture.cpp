#include "pdf/furniture.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>
#include <string>
#include <unordered_map>

#include "pdf/text_util.hpp"

namespace jobserver::pdf::detail {

namespace {

constexpr std::size_t kEdgeLines = 2;  // lines looked at from the top and from the bottom

/// The text of a line with every run of digits as '#': "Chapter 2: Vectors 14" and
/// "Chapter 2: Vectors 15" share a key.
std::string repeat_key(const std::string& text) {
  std::string norm = normalize_for_match(text);
  std::string key;
  key.reserve(norm.size());
  for (char c : norm) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      if (key.empty() || key.back() != '#') key += '#';
    } else {
      key += c;
    }
  }
  return key;
}

/// Indexes of the lines nearest the top and the bottom of the page.
std::vector<std::size_t> edge_lines(const page_text& page) {
  std::vector<std::size_t> order(page.lines.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return page.lines[a].top < page.lines[b].top; });
  std::vector<std::size_t> edges;
  for (std::size_t i = 0; i < order.size() && i < kEdgeLines; ++i) edges.push_back(order[i]);
  for (std::size_t i = 0; i < order.size() && i < kEdgeLines; ++i) {
    std::size_t idx = order[order.size() - 1 - i];
    if (std::find(edges.begin(), edges.end(), idx) == edges.end()) edges.push_back(idx);
  }
  return edges;
}

/// A table of contents: among at least 8 lines, 30 % or more are dot-leader entries or
/// bare (page) numbers.
bool looks_like_contents(const page_text& page) {
  std::size_t lines = 0, entries = 0;
  for (const auto& line : page.lines) {
    if (line.furniture) continue;
    ++lines;
    if (looks_like_toc_entry(line.text) || is_page_number(line.text)) ++entries;
  }
  return lines >= 8 && entries * 10 >= lines * 3;
}

}  // namespace

void mark_furniture(std::vector<page_text>& pages, const body_metrics& body) {
  const std::size_t min_repeat = pages.size() >= 6 ? 3 : 2;
  std::vector<std::vector<std::size_t>> edges(pages.size());
  std::unordered_map<std::string, std::size_t> pages_with_key;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    edges[p] = edge_lines(pages[p]);
    std::vector<std::string> seen;
    for (std::size_t idx : edges[p]) {
      std::string key = repeat_key(pages[p].lines[idx].text);
      if (key.empty() || std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      ++pages_with_key[key];
    }
  }
  for (std::size_t p = 0; p < pages.size(); ++p) {
    for (std::size_t idx : edges[p]) {
      text_line& line = pages[p].lines[idx];
      if (is_page_number(line.text)) {
        line.furniture = true;
        continue;
      }
      if (pages.size() < 2 || line.size > body.size * 1.1f) continue;
      auto it = pages_with_key.find(repeat_key(line.text));
      if (it != pages_with_key.end() && it->second >= min_repeat) line.furniture = true;
    }
    pages[p].contents = looks_like_contents(pages[p]);
  }
}

}  // namespace jobserver::pdf::detail
