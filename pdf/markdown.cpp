#include "pdf/markdown.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>

#include "pdf/text_util.hpp"

namespace jobserver::pdf::detail {

namespace {

/// Left and right edges of each Poppler block of a page (a column's margins).
struct block_edges {
  std::vector<float> left, right;
  explicit block_edges(const page_text& page) {
    for (const auto& line : page.lines) {
      if (line.block >= left.size())
        left.resize(line.block + 1, 1e9f), right.resize(line.block + 1, 0);
      left[line.block] = std::min(left[line.block], line.x0);
      right[line.block] = std::max(right[line.block], line.x1);
    }
  }
};

bool is_bare_number(const std::string& s) {
  return !s.empty() && s.size() <= 4 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

bool starts_lowercase(const std::string& s) {
  return !s.empty() && std::islower(static_cast<unsigned char>(s.front()));
}

/// Walks body lines and tells where paragraphs start.
class paragraph_breaker {
 public:
  explicit paragraph_breaker(const body_metrics& body) : body_(body) {}

  /// Whether `line` (on page index `page`) starts a new paragraph after the previous
  /// body line given to this function; `list` says the current paragraph is a list item.
  bool starts_paragraph(const text_line& line, int page, const block_edges& edges, bool list) {
    const text_line* prev = prev_;
    const int prev_page = prev_page_;
    prev_ = &line;
    prev_page_ = page;
    if (!prev || is_list_item(line.text)) return true;
    if (prev_page != page) return ends_sentence(prev->text);
    const float step = line.top - prev->top;
    if (step > body_.leading * 1.45f + 1 || step < -body_.leading * 0.5f) {
      // A wider gap, or a jump back up (next column): a new paragraph unless the
      // sentence plainly goes on.
      return ends_sentence(prev->text) || !starts_lowercase(line.text) ||
             step > body_.leading * 2.5f;
    }
    if (line.block != prev->block) return ends_sentence(prev->text) || !starts_lowercase(line.text);
    if (list) return false;
    const float indent = line.x0 - prev->x0;
    if (indent > line.size * 0.8f && line.x0 > edges.left[line.block] + line.size * 0.8f)
      return true;
    const bool short_prev = prev->x1 < edges.right[prev->block] - prev->size * 3;
    return short_prev && ends_sentence(prev->text);
  }

  void reset() { prev_ = nullptr; }

 private:
  const body_metrics& body_;
  const text_line* prev_ = nullptr;
  int prev_page_ = -1;
};

void join_line(std::string& para, const std::string& text) {
  const std::size_t n = para.size();
  if (n >= 2 && para[n - 1] == '-' && std::isalpha(static_cast<unsigned char>(para[n - 2])) &&
      starts_lowercase(text)) {
    para.pop_back();  // "impor-" + "tant" -> "important"
    para += text;
  } else {
    para += ' ';
    para += text;
  }
}

/// Markdown would read a leading '#', '>' or "1." of body text as syntax.
std::string escape_leading(const std::string& text) {
  if (!text.empty() && (text[0] == '#' || text[0] == '>' || text[0] == '|')) return "\\" + text;
  return text;
}

/// Visits the lines of [from, to) that are printed: not furniture, not consumed.
void for_each_line(const std::vector<page_text>& pages, line_pos from, line_pos to,
                   const std::function<void(const text_line&, int, const block_edges&)>& fn) {
  for (int p = from.page; p < static_cast<int>(pages.size()) && line_pos{p, 0} < to; ++p) {
    const auto& lines = pages[p].lines;
    block_edges edges(pages[p]);
    int first = p == from.page ? from.line : 0;
    for (int i = first; i < static_cast<int>(lines.size()) && line_pos{p, i} < to; ++i) {
      if (!lines[i].furniture && !lines[i].consumed) fn(lines[i], p, edges);
    }
  }
}

}  // namespace

section_text build_markdown(const std::vector<page_text>& pages, line_pos from, line_pos to,
                            const body_metrics& body, std::size_t max_bytes) {
  section_text out;
  std::string& md = out.markdown;
  std::string para, heading, intro;
  std::vector<std::string> code;
  float code_left = 0;
  int heading_level = 0;
  bool list = false, full = false;
  paragraph_breaker breaker(body);

  auto emit = [&](const std::string& block) {
    if (full || block.empty()) return;
    if (md.size() + block.size() + 2 > max_bytes) {
      md += md.empty() ? "" : "\n\n";
      md += "*[The rest of this section is too long and was left out.]*";
      full = true;
      return;
    }
    if (!md.empty()) md += "\n\n";
    md += block;
  };
  auto flush_para = [&] {
    if (para.empty()) return;
    if (intro.size() < 600) intro += (intro.empty() ? "" : " ") + para;
    emit(list ? para : escape_leading(para));
    para.clear();
  };
  auto flush_heading = [&] {
    if (heading.empty()) return;
    emit(std::string(static_cast<std::size_t>(heading_level), '#') + " " + heading);
    heading.clear();
  };
  auto flush_code = [&] {
    if (code.empty()) return;
    std::string block = "```\n";
    for (const auto& l : code) block += l + "\n";
    emit(block + "```");
    code.clear();
  };

  for_each_line(pages, from, to, [&](const text_line& line, int page, const block_edges& edges) {
    if (out.first_page == 0) out.first_page = page + 1;
    out.last_page = page + 1;
    if (line.heading > 0) {
      flush_para(), flush_code();
      if (line.heading_cont && !heading.empty()) {
        heading += " " + line.text;
      } else {
        flush_heading();
        heading = line.text;
        heading_level = std::clamp<int>(line.heading, 1, 6);
      }
      breaker.reset();
      return;
    }
    flush_heading();
    if (line.mono) {
      flush_para();
      if (code.empty()) code_left = line.x0;
      code_left = std::min(code_left, line.x0);
      auto indent = static_cast<std::size_t>(
          std::clamp((line.x0 - code_left) / std::max(line.size * 0.6f, 1.0f), 0.0f, 40.0f));
      code.push_back(std::string(indent, ' ') + line.text);
      breaker.reset();
      return;
    }
    flush_code();
    if (is_bare_number(line.text)) return;  // footnote marks, stray page numbers
    if (breaker.starts_paragraph(line, page, edges, list)) {
      flush_para();
      list = is_list_item(line.text);
      para = list ? strip_bullet(line.text) : line.text;
      if (list && para.size() != line.text.size()) para = "- " + para;  // a bullet glyph
    } else {
      join_line(para, line.text);
    }
  });
  flush_para(), flush_code(), flush_heading();
  out.description = first_sentences(intro);
  return out;
}

std::vector<paragraph_ref> paragraphs(const std::vector<page_text>& pages,
                                      const body_metrics& body) {
  std::vector<paragraph_ref> out;
  paragraph_breaker breaker(body);
  bool list = false;
  for (int p = 0; p < static_cast<int>(pages.size()); ++p) {
    block_edges edges(pages[p]);
    const auto& lines = pages[p].lines;
    for (int i = 0; i < static_cast<int>(lines.size()); ++i) {
      const text_line& line = lines[i];
      if (line.furniture) continue;
      bool start;
      if (line.heading > 0) {
        start = !line.heading_cont;
        breaker.reset();
      } else if (line.mono) {
        start = i == 0 || !lines[i - 1].mono;
        breaker.reset();
      } else {
        start = breaker.starts_paragraph(line, p, edges, list);
      }
      if (start || out.empty()) {
        list = is_list_item(line.text);
        out.push_back({{p, i}, 0});
      }
      out.back().bytes += line.text.size() + 1;
    }
  }
  return out;
}

}  // namespace jobserver::pdf::detail
