#include "pdf/structure.hpp"

#include <algorithm>
#include <cctype>

#include "pdf/furniture.hpp"
#include "pdf/headings.hpp"
#include "pdf/markdown.hpp"
#include "pdf/outline_match.hpp"
#include "pdf/text_util.hpp"

namespace jobserver::pdf::detail {

namespace {

constexpr std::size_t kMaxSectionBytes = 1 << 20;  // markdown of one section
constexpr std::size_t kMaxNameBytes = 300;
constexpr std::size_t kMaxSections = 1000;
constexpr std::size_t kMinLeadingBytes = 1000;  // untitled text before the first heading

/// Where a section starts, its name, and how many lines print that name.
struct split {
  line_pos pos;
  std::string name;
  int title_lines = 0;
  int title_level = 0;  // font heading level of the printed title; 0 if none
  const outline_item* item = nullptr;
};

std::string clean_name(const std::string& s) {
  return truncate_utf8(collapse_spaces(sanitize_utf8(s)), kMaxNameBytes);
}

/// Metadata titles that name a file or a template rather than the document.
bool usable_title(const std::string& title) {
  std::string t = normalize_for_match(title);
  if (t.empty() || t == "untitled" || t == "title" || t == "document") return false;
  for (const char* ext :
       {" doc", " docx", " pdf", " tex", " dvi", " ps", " eps", " odt", " ppt", " pptx"}) {
    std::string e(ext);
    if (t.size() > e.size() && t.compare(t.size() - e.size(), e.size(), e) == 0) return false;
  }
  return true;
}

void mark_title_lines(std::vector<page_text>& pages, line_pos pos, int count, int level) {
  for (int k = 0; k < count && pos.line + k < static_cast<int>(pages[pos.page].lines.size()); ++k) {
    text_line& line = pages[pos.page].lines[pos.line + k];
    if (level > 0) {
      line.heading = static_cast<int8_t>(level);
      line.heading_cont = k > 0;
    } else {
      line.consumed = true;
    }
  }
}

/// Inside a section: headings become `##`.. `####` relative to the section's own level,
/// and the section's outline children (grandchildren) are marked `##` (`###`).
void set_inner_levels(std::vector<page_text>& pages, const split& s, line_pos end,
                      const body_metrics& body) {
  for (int p = s.pos.page; p < static_cast<int>(pages.size()) && line_pos{p, 0} < end; ++p) {
    auto& lines = pages[p].lines;
    for (int i = p == s.pos.page ? s.pos.line : 0;
         i < static_cast<int>(lines.size()) && line_pos{p, i} < end; ++i) {
      text_line& line = lines[i];
      if (line.heading <= 0 || line.consumed) continue;
      int level = s.title_level > 0 ? line.heading - s.title_level + 1 : line.heading + 1;
      line.heading = static_cast<int8_t>(std::clamp(level, 2, 4));
    }
  }
  if (!s.item) return;
  line_pos from = s.pos;
  for (int k = 0; k < s.title_lines; ++k) from.line++;
  for (const auto& child : locate_outline(pages, s.item->children, body, from, end)) {
    if (child.title_lines == 0) continue;
    mark_title_lines(pages, child.pos, child.title_lines, 2);
  }
  for (const auto& child : s.item->children) {
    for (const auto& grandchild : locate_outline(pages, child.children, body, from, end)) {
      if (grandchild.title_lines > 0)
        mark_title_lines(pages, grandchild.pos, grandchild.title_lines, 3);
    }
  }
}

std::vector<split> outline_splits(std::vector<page_text>& pages,
                                  const std::vector<outline_item>& outline,
                                  const body_metrics& body) {
  const std::vector<outline_item>* items = &outline;
  if (outline.size() == 1 && !outline.front().children.empty()) items = &outline.front().children;
  std::vector<split> splits;
  for (const auto& e : locate_outline(pages, *items, body, {0, 0}, end_of(pages))) {
    const text_line& first = pages[e.pos.page].lines[e.pos.line];
    int level = e.title_lines > 0 ? first.heading : 0;
    splits.push_back({e.pos, clean_name(e.item->title), e.title_lines, level, e.item});
  }
  if (splits.size() < 2 && !(items->size() == 1 && splits.size() == 1)) splits.clear();
  return splits;
}

std::size_t text_bytes_before(const std::vector<page_text>& pages, line_pos end) {
  std::size_t n = 0;
  for (int p = 0; p < static_cast<int>(pages.size()) && line_pos{p, 0} < end; ++p) {
    if (pages[p].contents) continue;
    const auto& lines = pages[p].lines;
    for (int i = 0; i < static_cast<int>(lines.size()) && line_pos{p, i} < end; ++i) {
      if (!lines[i].furniture && !lines[i].heading && !looks_like_toc_entry(lines[i].text)) {
        n += count_alnum(lines[i].text);
      }
    }
  }
  return n;
}

std::vector<split> heading_splits(const std::vector<page_text>& pages,
                                  const std::vector<heading_ref>& headings) {
  std::vector<split> splits;
  const int top = top_level(headings);
  if (top == 0) return splits;
  for (const auto& h : headings) {
    // A "Contents" heading over the table of contents is no section of its own (an index
    // at the end, which looks the same, is).
    if (h.level == top && !(splits.empty() && pages[h.pos.page].contents)) {
      splits.push_back({h.pos, clean_name(h.text), h.lines, top, nullptr});
    }
  }
  if (splits.size() >= 2 && text_bytes_before(pages, splits.front().pos) >= kMinLeadingBytes) {
    splits.insert(splits.begin(), split{{0, 0}, "Introduction", 0, top, nullptr});
  }
  if (splits.size() < 2) splits.clear();
  return splits;
}

std::vector<split> chunk_splits(const std::vector<page_text>& pages, const body_metrics& body) {
  auto paras = paragraphs(pages, body);
  std::size_t total = 0;
  for (const auto& p : paras) total += p.bytes;
  const std::size_t target = std::clamp<std::size_t>(total / 20, 3000, 30000);
  std::vector<split> splits;
  std::size_t current = 0;
  for (std::size_t i = 0; i < paras.size(); ++i) {
    if (splits.empty() || current >= target) {
      splits.push_back({paras[i].pos, "", 0, 0, nullptr});
      current = 0;
    }
    current += paras[i].bytes;
  }
  if (splits.size() >= 2 && current < target / 3) splits.pop_back();
  return splits;
}

}  // namespace

document_structure build_structure(std::vector<page_text>& pages,
                                   const std::vector<outline_item>& outline,
                                   const std::string& metadata_title,
                                   const std::function<void(int)>& progress,
                                   const std::function<void()>& check_stop) {
  document_structure doc;
  doc.page_count = static_cast<int>(pages.size());
  const body_metrics body = measure_body(pages);
  mark_furniture(pages, body);
  for (auto& page : pages) {
    for (auto& line : page.lines) line.key = normalize_for_match(line.text);
  }
  progress(72);
  mark_headings(pages, body);
  const auto headings = collect_headings(pages);
  check_stop();
  progress(75);

  std::vector<split> splits = outline_splits(pages, outline, body);
  doc.method = "outline";
  if (splits.empty()) {
    splits = heading_splits(pages, headings);
    doc.method = "headings";
  }
  if (splits.empty()) {
    splits = chunk_splits(pages, body);
    doc.method = "chunks";
  }
  if (splits.size() > kMaxSections) splits.resize(kMaxSections);
  for (const auto& s : splits) mark_title_lines(pages, s.pos, s.title_lines, 0);
  check_stop();
  progress(80);

  for (std::size_t i = 0; i < splits.size(); ++i) {
    const split& s = splits[i];
    const line_pos end = i + 1 < splits.size() ? splits[i + 1].pos : end_of(pages);
    set_inner_levels(pages, s, end, body);
    section_text text = build_markdown(pages, s.pos, end, body, kMaxSectionBytes);
    section sec;
    sec.number = static_cast<int>(doc.sections.size()) + 1;
    sec.page_start = s.pos.page + 1;
    sec.page_end = std::max(sec.page_start, text.last_page);
    sec.name = s.name;
    if (sec.name.empty()) {
      sec.name = sec.page_end == sec.page_start ? "Page " + std::to_string(sec.page_start)
                                                : "Pages " + std::to_string(sec.page_start) + "-" +
                                                      std::to_string(sec.page_end);
    }
    sec.description = std::move(text.description);
    sec.markdown = std::move(text.markdown);
    doc.sections.push_back(std::move(sec));
    check_stop();
    progress(80 + static_cast<int>(10 * (i + 1) / splits.size()));
  }

  std::string title = clean_name(metadata_title);
  doc.title = usable_title(title) ? title : clean_name(printed_title(headings));
  progress(90);
  return doc;
}

}  // namespace jobserver::pdf::detail
