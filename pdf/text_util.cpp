#include "pdf/text_util.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>

namespace jobserver::pdf::detail {

namespace {

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Decodes one UTF-8 sequence at `i`; returns false (and skips one byte) when invalid.
bool next_code_point(std::string_view s, std::size_t& i, uint32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return false;
  }
  cp = len == 1 ? b : len == 2 ? (b & 0x1F) : len == 3 ? (b & 0x0F) : (b & 0x07);
  for (int k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      ++i;
      return false;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr std::array<uint32_t, 5> min_for_len{0, 0, 0x80, 0x800, 0x10000};
  i += len;
  return cp >= min_for_len[len];  // overlong forms are invalid
}

bool is_separator(uint32_t cp) {
  if (cp < 0x80) return !std::isalnum(static_cast<int>(cp));
  return (cp >= 0xA0 && cp <= 0xBF) || (cp >= 0x2000 && cp <= 0x206F) || cp == 0xD7 || cp == 0xF7 ||
         (cp >= 0x2190 && cp <= 0x23FF) || (cp >= 0x25A0 && cp <= 0x27BF);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool regex_match_icase(std::string_view s, const std::regex& re) {
  return std::regex_match(s.begin(), s.end(), re);
}

/// Bullet glyphs as an alternation (multi-byte UTF-8 cannot go in a character class).
std::string bullet_pattern() {
  return "(?:-|\\*|\u2022|\u25E6|\u25AA|\u25AB|\u2023|\u2043|\u2219|\u00B7|\u25CF|\u25CB|"
         "\u25A0|\u25A1|\u25BA|\u25B6|\u2013|\u2014|\u2713|\u2714|\u27A2|\uF0B7)";
}

constexpr auto icase = std::regex::ECMAScript | std::regex::icase | std::regex::optimize;

}  // namespace

void append_code_point(std::string& out, uint32_t cp) {
  if (cp == '\t' || cp == 0xA0 || cp == 0x2028 || cp == 0x2029 || (cp >= 0x2000 && cp <= 0x200A)) {
    out += ' ';
    return;
  }
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return;
  if ((cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF) return;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0xE000 && cp <= 0xF8FF)) return;
  if (cp == 0xFFFE || cp == 0xFFFF || cp > 0x10FFFF) return;
  switch (cp) {
    case 0xAD:
    case 0x2010:
    case 0x2011:
      out += '-';
      return;
    case 0xFB00:
      out += "ff";
      return;
    case 0xFB01:
      out += "fi";
      return;
    case 0xFB02:
      out += "fl";
      return;
    case 0xFB03:
      out += "ffi";
      return;
    case 0xFB04:
      out += "ffl";
      return;
    case 0xFB05:
    case 0xFB06:
      out += "st";
      return;
    default:
      put_utf8(out, cp);
  }
}

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    if (next_code_point(s, i, cp)) append_code_point(out, cp);
  }
  return out;
}

std::string normalize_for_match(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (std::size_t i = 0; i < s.size();) {
    uint32_t cp = 0;
    if (!next_code_point(s, i, cp)) continue;
    if (is_separator(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    if (cp < 0x80) {
      out += static_cast<char>(std::tolower(static_cast<int>(cp)));
    } else {
      append_code_point(out, cp);
    }
  }
  return out;
}

std::string collapse_spaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string truncate_utf8(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return std::string(s);
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

bool is_page_number(std::string_view s) {
  // Dashes and brackets around the number: "- 4 -", "\u2013 4 \u2013", "[4]".
  static const std::string dash = "(?:-|\u2013|\u2014|\\[|\\(|\\]|\\))";
  static const std::regex re(
      "(?:page\\s+|p\\.\\s*)?" + dash +
          "?\\s*(?:\\d{1,4}|(?=[ivxlc])(?:c|xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3}))\\s*" + dash +
          "?(?:\\s*(?:/|of)\\s*\\d{1,4})?",
      icase);
  s = trim(s);
  if (s.empty() || s.size() > 24) return false;
  return regex_match_icase(s, re);
}

bool looks_like_toc_entry(std::string_view s) {
  return s.find("....") != std::string_view::npos || s.find(". . .") != std::string_view::npos ||
         s.find("\u2026\u2026") != std::string_view::npos;
}

int numbering_depth(std::string_view s) {
  static const std::regex word(
      R"((?:chapter|part|section|appendix|lecture|unit|module|lesson|book|week|topic)\s+(?:\d{1,3}|[ivxlc]{1,6}|[a-z])\b[.:]?(?:\s.*)?)",
      icase);
  static const std::regex arabic(R"((\d{1,3}(?:\.\d{1,3})*)\.?(?:\s.*)?)");
  static const std::regex letter(R"([A-Z]((?:\.\d{1,3})+)\.?(?:\s.*)?)");
  static const std::regex roman(R"([IVX]{1,5}\.?\s+[A-Z].*)");
  s = trim(s);
  if (s.empty() || s.size() > 300) return 0;
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_match(s.begin(), s.end(), m, arabic)) {
    auto num = m[1].str();
    return 1 + static_cast<int>(std::count(num.begin(), num.end(), '.'));
  }
  if (std::regex_match(s.begin(), s.end(), m, letter)) {
    auto num = m[1].str();
    return 1 + static_cast<int>(std::count(num.begin(), num.end(), '.'));
  }
  if (regex_match_icase(s, word) || regex_match_icase(s, roman)) return 1;
  return 0;
}

bool is_list_item(std::string_view s) {
  static const std::regex bullet(bullet_pattern() + "\\s+\\S.*");
  static const std::regex enumerated(
      R"((?:(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)]|(?:[A-Z])\)|\((?:\d{1,3}|[a-zA-Z]|[ivx]{1,4})\))\s+\S.*)");
  s = trim(s);
  if (s.size() < 3) return false;
  return std::regex_match(s.begin(), s.end(), bullet) ||
         std::regex_match(s.begin(), s.end(), enumerated);
}

std::string strip_bullet(std::string_view s) {
  static const std::regex bullet(bullet_pattern() + "\\s+");
  s = trim(s);
  std::match_results<std::string_view::const_iterator> m;
  if (std::regex_search(s.begin(), s.end(), m, bullet, std::regex_constants::match_continuous)) {
    return std::string(s.substr(static_cast<std::size_t>(m.length(0))));
  }
  return std::string(s);
}

bool ends_sentence(std::string_view s) {
  s = trim(s);
  while (!s.empty() && (s.back() == '"' || s.back() == ')' || s.back() == '\'')) s.remove_suffix(1);
  if (s.size() >= 3 && s.substr(s.size() - 3) == "\u201D") s.remove_suffix(3);
  return !s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == '?' || s.back() == ':');
}

std::string first_sentences(std::string_view text, std::size_t max_bytes) {
  static const std::array<std::string_view, 18> abbreviations{
      "e.g", "i.e", "etc", "cf", "vs",   "fig", "figs", "eq", "no",
      "dr",  "mr",  "mrs", "ms", "prof", "sec", "vol",  "pp", "al"};
  text = trim(text);
  auto sentence_end = [&](std::size_t from) -> std::size_t {
    for (std::size_t i = from; i < text.size(); ++i) {
      char c = text[i];
      if (c != '.' && c != '!' && c != '?') continue;
      if (i + 1 < text.size() && text[i + 1] != ' ') continue;
      if (i + 2 < text.size()) {
        auto next = static_cast<unsigned char>(text[i + 2]);
        if (std::islower(next)) continue;
      }
      if (c == '.') {
        std::size_t w = i;
        while (w > from && text[w - 1] != ' ') --w;
        std::string word(text.substr(w, i - w));
        for (auto& ch : word) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (word.size() <= 1) continue;  // an initial or a list number
        bool abbreviation = false;
        for (auto a : abbreviations) abbreviation = abbreviation || word == a;
        if (abbreviation || std::all_of(word.begin(), word.end(), ::isdigit)) continue;
      }
      return i + 1;
    }
    return text.size();
  };
  std::size_t end = sentence_end(0);
  if (end < 80 && end < text.size()) end = sentence_end(end + 1);
  std::string out(trim(text.substr(0, end)));
  if (out.size() > max_bytes) {
    out = truncate_utf8(out, max_bytes);
    auto space = out.rfind(' ');
    if (space != std::string::npos && space > max_bytes / 2) out.resize(space);
    out += "\u2026";
  }
  return out;
}

std::size_t count_alnum(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    if (b < 0x80 ? std::isalnum(b) != 0 : b >= 0xC0) ++n;
  }
  return n;
}

}  // namespace jobserver::pdf::detail
