// Markdown -> headings, paragraphs, sentences, tokens; for the offline lesson writer.
#include "llm/text_model.hpp"

#include <algorithm>
#include <cctype>

#include "llm/text_util.hpp"
#include "llm/words.hpp"

namespace jobserver::llm {
namespace {

bool is_upper(char ch) {
  return ch >= 'A' && ch <= 'Z';
}
bool is_alnum(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0;
}

/// UTF-8 punctuation and symbols that separate words: U+2000-U+206F (dashes, quotes,
/// ellipsis) and U+2190-U+23FF (arrows, mathematical operators). Returns its byte length
/// at `i`, or 0 when `s[i]` does not start one.
size_t utf8_separator(std::string_view s, size_t i) {
  if (i + 1 >= s.size()) return 0;
  auto b0 = static_cast<unsigned char>(s[i]), b1 = static_cast<unsigned char>(s[i + 1]);
  if (b0 == 0xE2 && (b1 == 0x80 || b1 == 0x81)) return 3;
  if (b0 == 0xE2 && b1 >= 0x86 && b1 <= 0x8F) return 3;
  if (b0 == 0xC2 && (b1 == 0xA0 || b1 == 0xAB || b1 == 0xBB || b1 == 0xB1 || b1 == 0xB7))
    return 2;  // nbsp, guillemets, plus-minus, middle dot
  if (b0 == 0xC3 && (b1 == 0x97 || b1 == 0xB7)) return 2;  // multiplication, division
  return 0;
}

bool word_byte(std::string_view s, size_t i) {
  char ch = s[i];
  if (is_alnum(ch)) return true;
  return static_cast<unsigned char>(ch) >= 0x80 && utf8_separator(s, i) == 0;
}

/// Whether a sentence reads as an equation: '=' or a math symbol, and not long prose.
bool looks_like_formula(const std::string& text, size_t words) {
  static const char* symbols[] = {"=",
                                  "\xE2\x88\x91",
                                  "\xE2\x88\xAB",
                                  "\xE2\x88\x9A",
                                  "\xE2\x89\xA4",
                                  "\xE2\x89\xA5",
                                  "\xE2\x89\x88",
                                  "\xE2\x89\xA0",
                                  "\xE2\x86\x92",
                                  "\xC3\x97",
                                  "\xC3\xB7",
                                  "\xE2\x88\x82"};
  if (words > 30) return false;
  if (std::count(text.begin(), text.end(), '$') >= 2) return true;  // $LaTeX$
  for (const char* sym : symbols)
    if (text.find(sym) != std::string::npos) return true;
  return false;
}

/// Removes inline Markdown (emphasis, code, links, images), collecting bold spans.
std::string strip_inline(std::string_view in, std::vector<std::string>& bold) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size();) {
    if ((in.compare(i, 2, "**") == 0 || in.compare(i, 2, "__") == 0)) {
      auto close = in.find(in.substr(i, 2), i + 2);
      if (close != std::string_view::npos && close > i + 2 && close - i < 120) {
        std::string inner(in.substr(i + 2, close - i - 2));
        bold.push_back(trim(inner));
        out += inner;
        i = close + 2;
        continue;
      }
    }
    char ch = in[i];
    if (ch == '!' && i + 1 < in.size() && in[i + 1] == '[') {  // image: drop the link part
      ++i;
      continue;
    }
    if (ch == '[') {
      auto close = in.find(']', i);
      if (close != std::string_view::npos && close + 1 < in.size() && in[close + 1] == '(') {
        auto paren = in.find(')', close);
        if (paren != std::string_view::npos) {
          out += in.substr(i + 1, close - i - 1);
          i = paren + 1;
          continue;
        }
      }
    }
    if (ch == '*' || ch == '`') {
      ++i;
      continue;
    }
    out.push_back(ch);
    ++i;
  }
  return out;
}

/// Splits a paragraph's plain text into sentences at . ! ? followed by white space and a
/// capital, digit, quote or bracket; not after abbreviations, initials or decimals.
std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch != '.' && ch != '!' && ch != '?') continue;
    size_t j = i + 1;
    while (j < text.size() && (text[j] == '"' || text[j] == '\'' || text[j] == ')')) ++j;
    if (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) continue;
    size_t k = j;
    while (k < text.size() && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
    if (k < text.size()) {
      char next = text[k];
      bool opens = is_upper(next) || std::isdigit(static_cast<unsigned char>(next)) ||
                   next == '"' || next == '(' || static_cast<unsigned char>(next) >= 0x80;
      if (!opens) continue;
    }
    if (ch == '.') {
      size_t w = i;
      while (w > start && (is_alnum(text[w - 1]) || text[w - 1] == '.')) --w;
      std::string word = to_lower(std::string_view(text).substr(w, i - w));
      if (is_abbreviation(word)) continue;
    }
    std::string s = trim(std::string_view(text).substr(start, j - start));
    if (!s.empty()) out.push_back(std::move(s));
    start = j;
  }
  std::string rest = trim(std::string_view(text).substr(start));
  if (!rest.empty()) out.push_back(std::move(rest));
  return out;
}

/// A list item's marker ("- ", "* ", "+ ", "1. ", "2) ") length, or 0.
size_t list_marker(std::string_view line) {
  if (line.size() >= 2 && (line[0] == '-' || line[0] == '*' || line[0] == '+') && line[1] == ' ')
    return 2;
  size_t i = 0;
  while (i < line.size() && i < 3 && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  if (i > 0 && i + 1 < line.size() && (line[i] == '.' || line[i] == ')') && line[i + 1] == ' ')
    return i + 2;
  return 0;
}

/// A formula line without its list marker or inline-code backticks.
std::string strip_markers(const std::string& line) {
  std::string out = line.substr(list_marker(line));
  std::string clean;
  for (char ch : out)
    if (ch != '`') clean.push_back(ch);
  return trim(clean);
}

class reader {
 public:
  text_model run(std::string_view markdown) {
    bool in_code = false;
    size_t pos = 0;
    while (pos <= markdown.size()) {
      size_t nl = markdown.find('\n', pos);
      if (nl == std::string_view::npos) nl = markdown.size();
      std::string line = trim(markdown.substr(pos, nl - pos));
      pos = nl + 1;
      if (line.rfind("```", 0) == 0 || line.rfind("~~~", 0) == 0) {
        flush();
        in_code = !in_code;
        continue;
      }
      if (in_code) {  // code: only equations are kept, each on its own
        if (looks_like_formula(line, 0)) add_sentence(line, true);
        continue;
      }
      bool table_or_rule =
          !line.empty() && (line[0] == '|' || line.find_first_not_of("-=_*") == std::string::npos);
      if (line.empty() || table_or_rule) {
        flush();
      } else if (line[0] == '#') {
        flush();
        size_t level = line.find_first_not_of('#');
        std::vector<std::string> ignored;
        std::string title = trim(
            strip_inline(line.substr(level == std::string::npos ? line.size() : level), ignored));
        while (!title.empty() && title.back() == '#') title.pop_back();
        if (!trim(title).empty()) model_.headings.push_back(trim(title));
      } else if (line.size() < 160 && looks_like_formula(line, tokenize(line).size()) &&
                 tokenize(line).size() <= 12) {
        flush();  // an equation on a line of its own
        add_sentence(strip_markers(line), true);
      } else if (size_t marker = list_marker(line)) {
        flush();
        paragraph_ = line.substr(marker);
        flush();
      } else {
        if (line[0] == '>') line = trim(line.substr(1));
        if (!paragraph_.empty()) paragraph_.push_back(' ');
        paragraph_ += line;
      }
      if (nl == markdown.size()) break;
    }
    flush();
    return std::move(model_);
  }

 private:
  void flush() {
    if (paragraph_.empty()) return;
    std::string plain = strip_inline(paragraph_, model_.bold_terms);
    paragraph_.clear();
    for (auto& s : split_sentences(plain)) add_sentence(s, false);
    ++model_.paragraphs;
  }

  void add_sentence(const std::string& text, bool formula) {
    sentence s;
    s.text = text;
    s.tokens = tokenize(s.text);
    if (s.tokens.empty() && !formula) return;
    s.paragraph = model_.paragraphs;
    s.heading = model_.headings.empty() ? sentence::npos : model_.headings.size() - 1;
    s.formula = formula || looks_like_formula(s.text, s.tokens.size());
    model_.sentences.push_back(std::move(s));
    if (formula) ++model_.paragraphs;
  }

  text_model model_;
  std::string paragraph_;
};

}  // namespace

std::string_view sentence::gap(size_t after_token, size_t before_token) const {
  size_t from = after_token == npos ? 0 : tokens[after_token].end;
  size_t to = before_token == npos ? text.size() : tokens[before_token].begin;
  return std::string_view(text).substr(from, to > from ? to - from : 0);
}

std::vector<token> tokenize(std::string_view text) {
  std::vector<token> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!word_byte(text, i)) {
      ++i;
      continue;
    }
    size_t b = i;
    while (i < text.size()) {
      if (word_byte(text, i)) {
        ++i;
      } else if ((text[i] == '-' || text[i] == '\'' || text[i] == '.') && i + 1 < text.size() &&
                 word_byte(text, i + 1) && i > b) {
        // inner hyphen, apostrophe, or the dot of "e.g" / "3.5"
        if (text[i] == '.' && !(std::isdigit(static_cast<unsigned char>(text[i - 1])) ||
                                (i + 2 < text.size() && text[i + 2] == '.')))
          break;
        ++i;
      } else {
        break;
      }
    }
    token t;
    t.begin = static_cast<uint32_t>(b);
    t.end = static_cast<uint32_t>(i);
    std::string_view word = text.substr(b, i - b);
    t.norm = normalize_word(word);
    t.capitalised = is_upper(word[0]);
    size_t letters = 0, capitals = 0;
    for (char ch : word) {
      if (std::isalpha(static_cast<unsigned char>(ch))) ++letters;
      if (is_upper(ch)) ++capitals;
    }
    t.acronym = word.size() >= 2 && letters >= 2 && capitals == letters;
    out.push_back(std::move(t));
  }
  return out;
}

text_model read_text(std::string_view markdown) {
  return reader{}.run(markdown);
}

}  // namespace jobserver::llm
