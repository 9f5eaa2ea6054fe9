#include "outline_reference.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "pdf/poppler_reader.hpp"
#include "pdf/structure.hpp"
#include "pdf/text_util.hpp"

namespace jobserver::pdf::test {

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string xml_unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    auto semi = s.find(';', i);
    if (semi == std::string::npos) {
      out += s[i];
      continue;
    }
    std::string entity = s.substr(i + 1, semi - i - 1);
    if (entity == "amp")
      out += '&';
    else if (entity == "lt")
      out += '<';
    else if (entity == "gt")
      out += '>';
    else if (entity == "quot")
      out += '"';
    else if (entity == "apos")
      out += '\'';
    else if (!entity.empty() && entity[0] == '#') {
      uint32_t cp = static_cast<uint32_t>(entity.size() > 1 && entity[1] == 'x'
                                              ? std::strtoul(entity.c_str() + 2, nullptr, 16)
                                              : std::strtoul(entity.c_str() + 1, nullptr, 10));
      detail::append_code_point(out, cp);
    } else {
      out += s.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

}  // namespace

std::vector<reference_entry> reference_outline(const std::string& pdf) {
  const std::string cmd =
      "pdftohtml -xml -i -q -stdout -f 1 -l 1 " + shell_quote(pdf) + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), &pclose);
  if (!pipe) throw std::runtime_error("cannot run pdftohtml");
  std::string xml;
  char buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, pipe.get())) > 0;) xml.append(buf, n);
  if (xml.find("<pdf2xml") == std::string::npos)
    throw std::runtime_error("pdftohtml failed on " + pdf);

  std::vector<reference_entry> out;
  int depth = 0;
  for (std::size_t i = xml.find("<outline>"); i != std::string::npos && i < xml.size();) {
    if (xml.compare(i, 9, "<outline>") == 0) {
      ++depth, i += 9;
    } else if (xml.compare(i, 10, "</outline>") == 0) {
      if (--depth == 0) break;
      i += 10;
    } else if (xml.compare(i, 5, "<item") == 0) {
      auto close = xml.find('>', i);
      auto end = xml.find("</item>", close);
      if (close == std::string::npos || end == std::string::npos) break;
      if (depth == 1) {
        reference_entry e;
        std::string tag = xml.substr(i, close - i);
        if (auto p = tag.find("page=\""); p != std::string::npos)
          e.page = std::atoi(tag.c_str() + p + 6);
        e.title = xml_unescape(xml.substr(close + 1, end - close - 1));
        out.push_back(e);
      }
      i = end + 7;
    } else {
      ++i;
    }
  }
  return out;
}

outline_score score_outline(const std::vector<reference_entry>& reference,
                            const document_structure& doc, bool lenient) {
  auto ends_with_word = [](const std::string& a, const std::string& b) {
    return a.size() > b.size() && a.compare(a.size() - b.size(), b.size(), b) == 0 &&
           a[a.size() - b.size() - 1] == ' ';
  };
  outline_score score;
  std::size_t cursor = 0;
  for (const auto& entry : reference) {
    ++score.titles;
    const std::string want = detail::normalize_for_match(entry.title);
    for (std::size_t s = cursor; s < doc.sections.size(); ++s) {
      const std::string name = detail::normalize_for_match(doc.sections[s].name);
      if (name != want &&
          !(lenient && (ends_with_word(name, want) || ends_with_word(want, name)))) {
        continue;
      }
      ++score.named;
      if (doc.sections[s].page_start == entry.page) ++score.named_on_page;
      cursor = s + 1;
      break;
    }
  }
  return score;
}

document_structure extract_without_destinations(const std::string& pdf, outline_use use) {
  detail::poppler_reader reader(pdf);
  std::vector<detail::page_text> pages;
  const std::function<bool()> never = [] { return false; };
  for (int n = 1; n <= reader.page_count(); ++n) pages.push_back(reader.read_page(n, never));
  auto outline = reader.outline();
  std::function<void(std::vector<detail::outline_item>&)> forget =
      [&](std::vector<detail::outline_item>& items) {
        for (auto& item : items) item.page = 0, item.top = -1, forget(item.children);
      };
  forget(outline);
  if (use == outline_use::ignored) outline.clear();
  return detail::build_structure(
      pages, outline, reader.metadata_title(), [](int) {}, [] {});
}

std::vector<std::string> corpus_files(const std::string& dir) {
  std::string from = dir;
  if (const char* env = std::getenv("PDF_CORPUS_DIR"); env && *env) from = env;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(from, ec)) {
    if (entry.path().extension() == ".pdf") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace jobserver::pdf::test
