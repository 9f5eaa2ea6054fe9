#include "pdf/outline_match.hpp"

#include <algorithm>

#include "pdf/text_util.hpp"

namespace jobserver::pdf::detail {

namespace {

constexpr int kMaxTitleLines = 3;

enum class match { none, partial, exact };

/// How well the lines starting at `pos` print `title` (already normalised); `used` gets
/// the number of lines that do.
match match_at(const std::vector<page_text>& pages, line_pos pos, const std::string& title,
               int& used) {
  const auto& lines = pages[pos.page].lines;
  std::string window;
  match best = match::none;
  for (int k = 0; k < kMaxTitleLines && pos.line + k < static_cast<int>(lines.size()); ++k) {
    const text_line& line = lines[pos.line + k];
    if (line.furniture) break;
    const std::string& norm = line.key;
    if (norm.empty()) break;
    window += window.empty() ? norm : " " + norm;
    if (window == title) {
      used = k + 1;
      return match::exact;
    }
    // "Chapter 1 Introduction" for "Introduction", "Part I Gnuplot" for "I Gnuplot", or a
    // title whose printed form drops a prefix.
    const auto& longer = window.size() > title.size() ? window : title;
    const auto& shorter = window.size() > title.size() ? title : window;
    if (best == match::none && shorter.size() >= 4 && shorter.size() * 2 >= longer.size() &&
        longer.compare(longer.size() - shorter.size(), shorter.size(), shorter) == 0 &&
        longer[longer.size() - shorter.size() - 1] == ' ') {
      best = match::partial;
      used = k + 1;
    }
    if (window.size() > title.size() + 40) break;
  }
  return best;
}

bool heading_like(const text_line& line, const body_metrics& body) {
  return line.heading > 0 || line.bold || line.size >= body.size * 1.1f;
}

line_pos advance(const std::vector<page_text>& pages, line_pos pos) {
  if (++pos.line >= static_cast<int>(pages[pos.page].lines.size())) {
    pos.line = 0;
    do {
      ++pos.page;
    } while (pos.page < static_cast<int>(pages.size()) && pages[pos.page].lines.empty());
  }
  return pos;
}

line_pos first_line_at_or_after(const std::vector<page_text>& pages, line_pos pos) {
  while (pos.page < static_cast<int>(pages.size()) &&
         pos.line >= static_cast<int>(pages[pos.page].lines.size())) {
    pos = {pos.page + 1, 0};
  }
  return pos;
}

/// Scans [from, to) for the title and takes the first match of the best kind, in this
/// order: exact in a large font, exact in a heading, partial in a large font, exact,
/// partial in a heading; a table of contents only when nothing else matches.
bool search(const std::vector<page_text>& pages, const std::string& title, const body_metrics& body,
            line_pos from, line_pos to, located_entry& out) {
  constexpr int kTiers = 5;
  constexpr int kNone = 2 * kTiers;
  int best = kNone;
  for (line_pos pos = first_line_at_or_after(pages, from); pos < to; pos = advance(pages, pos)) {
    const text_line& line = pages[pos.page].lines[pos.line];
    if (line.furniture || line.consumed) continue;
    int used = 0;
    match m = match_at(pages, pos, title, used);
    if (m == match::none) continue;
    const bool large = line.size >= body.size * 1.15f;
    const bool heading = heading_like(line, body);
    int tier = m == match::exact ? (large     ? 0
                                    : heading ? 1
                                              : 3)
                                 : (large     ? 2
                                    : heading ? 4
                                              : kTiers);
    if (tier >= kTiers) continue;
    if (pages[pos.page].contents) tier += kTiers;
    if (tier < best) {
      best = tier;
      out.pos = pos, out.title_lines = used;
      if (tier == 0) return true;
    }
  }
  return best < kNone;
}

}  // namespace

line_pos end_of(const std::vector<page_text>& pages) {
  return {static_cast<int>(pages.size()), 0};
}

std::vector<located_entry> locate_outline(const std::vector<page_text>& pages,
                                          const std::vector<outline_item>& items,
                                          const body_metrics& body, line_pos from, line_pos to) {
  std::vector<located_entry> found;
  line_pos cursor = from;
  for (const outline_item& item : items) {
    std::string title = normalize_for_match(item.title);
    located_entry entry;
    entry.item = &item;
    bool ok = false;
    if (item.page > 0) {
      const int p = item.page - 1;
      line_pos start = std::max(cursor, line_pos{p, 0});
      line_pos stop = std::min(to, line_pos{p + 2, 0});
      ok = !title.empty() && start < stop && search(pages, title, body, start, stop, entry);
      if (!ok && p < static_cast<int>(pages.size())) {
        // Not printed (or printed differently): start at the destination itself.
        const auto& lines = pages[p].lines;
        int line = 0;
        while (line < static_cast<int>(lines.size()) &&
               (lines[line].furniture || (item.top >= 0 && lines[line].bottom < item.top))) {
          ++line;
        }
        entry.pos = first_line_at_or_after(pages, {p, line});
        entry.title_lines = 0;
        ok = cursor <= entry.pos && entry.pos < to;
      }
    } else if (!title.empty()) {
      ok = search(pages, title, body, cursor, to, entry);
    }
    if (!ok) continue;
    found.push_back(entry);
    cursor = entry.pos;
    for (int k = 0; k < entry.title_lines; ++k) cursor = advance(pages, cursor);
  }
  return found;
}

}  // namespace jobserver::pdf::detail
