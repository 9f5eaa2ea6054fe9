#include "pdf/headings.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "pdf/text_util.hpp"

namespace jobserver::pdf::detail {

namespace {

constexpr float kStrongRatio = 1.15f;  // a heading's size over the body size
constexpr std::size_t kMaxHeadingBytes = 200;
constexpr int kMaxHeadingWords = 20;
constexpr int kMaxLevel = 4;

float half_point(float size) {
  return std::round(size * 2.0f) / 2.0f;
}

int word_count(const std::string& s) {
  int n = 0;
  bool in_word = false;
  for (char c : s) {
    bool space = c == ' ';
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

int letter_count(const std::string& s) {
  int n = 0;
  for (char c : s) n += std::isalpha(static_cast<unsigned char>(c)) || (c & 0x80) ? 1 : 0;
  return n;
}

/// "Chapter 3", "Part II", "1.2": numbering with no title after it.
bool numbering_only(const std::string& text) {
  if (numbering_depth(text) == 0) return false;
  auto words = word_count(text);
  return words == 1 || (words == 2 && std::isalpha(static_cast<unsigned char>(text[0])));
}

struct block_info {
  int lines = 0;
  int bold_lines = 0;
};

bool is_candidate(const text_line& line) {
  if (line.furniture || line.mono || line.text.size() > kMaxHeadingBytes) return false;
  if (word_count(line.text) > kMaxHeadingWords || looks_like_toc_entry(line.text)) return false;
  if (is_page_number(line.text)) return false;
  if (letter_count(line.text) < 2 && !numbering_only(line.text)) return false;
  auto first = static_cast<unsigned char>(line.text.front());
  if (std::islower(first)) return false;
  char last = line.text.back();
  return last != ',' && last != ';';
}

struct heading_class {
  float size;
  bool bold;
  bool operator<(const heading_class& o) const {
    return size != o.size ? size > o.size : bold > o.bold;  // largest first, bold first
  }
};

}  // namespace

body_metrics measure_body(const std::vector<page_text>& pages) {
  std::map<float, std::size_t> sizes, leadings;
  for (const auto& page : pages) {
    for (std::size_t i = 0; i < page.lines.size(); ++i) {
      sizes[half_point(page.lines[i].size)] += page.lines[i].text.size();
    }
  }
  body_metrics body;
  std::size_t best = 0;
  for (const auto& [size, bytes] : sizes) {
    if (bytes > best && size > 0) best = bytes, body.size = size;
  }
  for (const auto& page : pages) {
    for (std::size_t i = 1; i < page.lines.size(); ++i) {
      const auto& a = page.lines[i - 1];
      const auto& b = page.lines[i];
      if (a.block != b.block || std::fabs(a.size - body.size) > 0.5f) continue;
      float d = b.top - a.top;
      if (d > 0 && d < body.size * 3) ++leadings[half_point(d)];
    }
  }
  best = 0;
  body.leading = body.size * 1.2f;
  for (const auto& [d, count] : leadings) {
    if (count > best) best = count, body.leading = d;
  }
  return body;
}

void mark_headings(std::vector<page_text>& pages, const body_metrics& body) {
  std::map<heading_class, std::vector<text_line*>> classes;
  for (auto& page : pages) {
    std::map<uint16_t, block_info> blocks;
    for (const auto& line : page.lines) {
      auto& b = blocks[line.block];
      ++b.lines;
      b.bold_lines += line.bold ? 1 : 0;
    }
    for (std::size_t i = 0; i < page.lines.size(); ++i) {
      text_line& line = page.lines[i];
      if (!is_candidate(line)) continue;
      const float ratio = line.size / body.size;
      const auto& block = blocks[line.block];
      bool heading = false;
      if (ratio >= kStrongRatio) {
        // A long run of large lines is display text (a quote, a slide), not a heading.
        heading = block.lines <= 4 && word_count(line.text) <= 15;
      } else if (line.bold && ratio >= 0.9f) {
        const bool first_in_block = i == 0 || page.lines[i - 1].block != line.block;
        const bool next_plain = i + 1 < page.lines.size() &&
                                page.lines[i + 1].block == line.block && !page.lines[i + 1].bold;
        const bool standalone = block.bold_lines == block.lines && block.lines <= 3;
        heading = numbering_depth(line.text) > 0 || standalone ||
                  (first_in_block && next_plain && word_count(line.text) <= 10 &&
                   !ends_sentence(line.text));
      }
      if (heading) classes[{half_point(line.size), line.bold}].push_back(&line);
    }
  }

  int level = 0;
  for (auto& [cls, lines] : classes) {
    level = std::min(level + 1, kMaxLevel);
    int min_depth = 99;
    for (const text_line* l : lines) {
      int d = numbering_depth(l->text);
      if (d > 0) min_depth = std::min(min_depth, d);
    }
    for (text_line* l : lines) {
      int d = numbering_depth(l->text);
      int extra = d > 0 && min_depth < 99 ? d - min_depth : 0;
      l->heading = static_cast<int8_t>(std::min(level + extra, kMaxLevel));
    }
  }

  // Headings printed over several lines: join a line to the heading just above it when
  // it is of the same kind and close below it, or when the line above is a bare number.
  for (auto& page : pages) {
    for (std::size_t i = 1; i < page.lines.size(); ++i) {
      text_line& prev = page.lines[i - 1];
      text_line& line = page.lines[i];
      if (!prev.heading || !line.heading) continue;
      const float gap = line.top - prev.bottom;
      const bool same_kind = line.heading == prev.heading && line.block == prev.block &&
                             gap < line.size * 0.8f && numbering_depth(line.text) == 0;
      const bool after_number =
          numbering_only(prev.text) && gap < prev.size * 3.0f && !numbering_only(line.text);
      if (same_kind || after_number) {
        // "Part I" over "Gnuplot" in a larger font: the pair ranks as its larger line.
        prev.heading = std::min(prev.heading, line.heading);
        for (std::size_t k = i - 1; k > 0 && page.lines[k].heading_cont; --k) {
          page.lines[k - 1].heading = prev.heading;
        }
        line.heading_cont = true;
        line.heading = prev.heading;
      }
    }
  }
}

std::vector<heading_ref> collect_headings(const std::vector<page_text>& pages) {
  std::vector<heading_ref> out;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    const auto& lines = pages[p].lines;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const text_line& line = lines[i];
      if (!line.heading) continue;
      if (line.heading_cont && !out.empty() && out.back().pos.page == static_cast<int>(p)) {
        out.back().text += " " + line.text;
        out.back().size = std::max(out.back().size, line.size);
        ++out.back().lines;
        continue;
      }
      out.push_back(
          {{static_cast<int>(p), static_cast<int>(i)}, line.heading, 1, line.size, line.text});
    }
  }
  return out;
}

int top_level(const std::vector<heading_ref>& headings) {
  std::map<int, int> counts;
  for (const auto& h : headings) ++counts[h.level];
  for (const auto& [level, count] : counts) {
    if (count >= 2) return level;
  }
  return 0;
}

std::string printed_title(const std::vector<heading_ref>& headings) {
  const heading_ref* best = nullptr;
  for (const auto& h : headings) {
    if (h.pos.page > 1) break;
    if (!best || h.size > best->size) best = &h;
  }
  if (!best && !headings.empty()) best = &headings.front();
  return best ? collapse_spaces(best->text) : std::string();
}

}  // namespace jobserver::pdf::detail
