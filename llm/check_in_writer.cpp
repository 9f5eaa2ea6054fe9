// Check-ins of the offline provider: every correct answer is a term as the text writes
// it; the three distractors are other terms (or words) of the same text.
#include "llm/check_in_writer.hpp"

#include <algorithm>

#include "llm/text_util.hpp"
#include "llm/words.hpp"

namespace jobserver::llm {
namespace {

constexpr const char* blank = "_____";
constexpr size_t max_question_words = 50;
constexpr size_t max_option_bytes = 60;
constexpr size_t distractor_pool = 12;

bool same_text(const std::string& a, const std::string& b) {
  return to_lower(a) == to_lower(b);
}

/// The first UTF-8 character of `s`.
std::string first_char(const std::string& s) {
  size_t n = 1;
  while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) ++n;
  return s.substr(0, n);
}

size_t blanked_words(const std::string& text) {
  size_t words = 0;
  for (const auto& tok : tokenize(text)) words += tok.norm.empty() ? 0 : 1;
  return words;
}

}  // namespace

uint64_t stable_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string blank_out(const sentence& s, const term& t) {
  auto starts = find_mentions(s, t);
  size_t first_tok = starts.empty() ? 0 : starts[0];
  size_t from_tok = first_tok > 20 ? first_tok - 20 : 0;
  size_t to_tok = std::min(s.tokens.size(), from_tok + max_question_words);
  size_t from = from_tok == 0 ? 0 : s.tokens[from_tok].begin;
  size_t to = to_tok == s.tokens.size() ? s.text.size() : s.tokens[to_tok - 1].end;
  std::string out = from > 0 ? "..." : "";
  size_t pos = from;
  for (size_t start : starts) {
    if (start < from_tok || start + t.words.size() > to_tok) continue;
    out += s.text.substr(pos, s.tokens[start].begin - pos);
    out += blank;
    pos = s.tokens[start + t.words.size() - 1].end;
  }
  out += s.text.substr(pos, to - pos);
  if (to < s.text.size()) out += "...";
  return trim(out);
}

std::optional<check_in> check_in_writer::about_term(size_t term_index, size_t ordinal) {
  const term& t = terms_[term_index];
  if (t.display.size() > max_option_bytes) return std::nullopt;
  std::vector<size_t> order;
  if (t.definition != sentence::npos) order.push_back(t.definition);
  for (size_t s : t.sentences)
    if (s != t.definition && !m_.sentences[s].formula) order.push_back(s);
  // An acronym or its expansion in the question would give the answer away.
  std::vector<const term*> aliases;
  for (const auto& u : terms_)
    if (abbreviates(u, t) || abbreviates(t, u)) aliases.push_back(&u);
  for (size_t s : order) {
    if (used_sentences_.count(s) > 0) continue;
    if (std::any_of(aliases.begin(), aliases.end(),
                    [&](const term* u) { return !find_mentions(m_.sentences[s], *u).empty(); }))
      continue;
    std::string question = blank_out(m_.sentences[s], t);
    if (question.find(blank) == std::string::npos || blanked_words(question) < 5) continue;
    auto others = distractors(t, s, ordinal);
    if (others.size() < 3) continue;

    check_in q;
    q.question = (ordinal % 2 == 0 ? "Which term completes this statement from the text? \""
                                   : "Fill in the blank with the right term: \"") +
                 question + "\"";
    q.expected_answer = t.display;
    size_t answer_at = (stable_hash(t.key) + ordinal) % 4;
    for (size_t i = 0, d = 0; i < 4; ++i)
      q.options.push_back(i == answer_at ? t.display : others[d++]);
    q.hint = hint_for(t, s);
    used_sentences_.insert(s);
    return q;
  }
  return std::nullopt;
}

std::vector<std::string> check_in_writer::distractors(const term& t, size_t sentence_index,
                                                      size_t ordinal) const {
  const sentence& s = m_.sentences[sentence_index];
  auto fits = [&](const term& u) {
    return u.key != t.key && !same_idea(u, t) && !same_text(u.display, t.display) &&
           u.display.size() <= max_option_bytes && find_mentions(s, u).empty();
  };
  // Plausible first: the other concepts, then terms of the same kind (name or not).
  std::vector<size_t> pool;
  for (size_t c : concepts_)
    if (fits(terms_[c])) pool.push_back(c);
  for (int pass = 0; pass < 2 && pool.size() < distractor_pool; ++pass) {
    for (size_t i = 0; i < terms_.size() && pool.size() < distractor_pool; ++i) {
      bool same_kind =
          terms_[i].proper == t.proper && (terms_[i].words.size() > 1) == (t.words.size() > 1);
      if ((pass == 0) != same_kind) continue;
      if (std::find(pool.begin(), pool.end(), i) == pool.end() && fits(terms_[i]))
        pool.push_back(i);
    }
  }
  std::vector<std::string> out;
  std::vector<const term*> picked;
  for (size_t k = 0; k < pool.size() && out.size() < 3; ++k) {
    const term& u = terms_[pool[(ordinal + k) % pool.size()]];
    bool clash = std::any_of(picked.begin(), picked.end(), [&](const term* p) {
      return same_idea(*p, u) || same_text(p->display, u.display);
    });
    if (clash) continue;
    picked.push_back(&u);
    out.push_back(u.display);
  }
  if (out.size() < 3) {
    for (auto& w : fallback_words(t, sentence_index, 3 - out.size(), out)) out.push_back(w);
  }
  return out;
}

std::vector<std::string> check_in_writer::fallback_words(
    const term& t, size_t sentence_index, size_t needed,
    const std::vector<std::string>& taken) const {
  std::vector<std::string> out;
  const sentence& question = m_.sentences[sentence_index];
  for (const auto& s : m_.sentences) {
    for (const auto& tok : s.tokens) {
      if (out.size() == needed) return out;
      if (tok.norm.size() < 5 || is_stopword(tok.norm) || is_generic(tok.norm)) continue;
      if (std::find(t.words.begin(), t.words.end(), tok.norm) != t.words.end()) continue;
      bool in_question = std::any_of(question.tokens.begin(), question.tokens.end(),
                                     [&](const token& q) { return q.norm == tok.norm; });
      if (in_question) continue;
      std::string word = s.text.substr(tok.begin, tok.end - tok.begin);
      auto dup = [&](const std::string& w) { return same_text(w, word); };
      if (std::any_of(out.begin(), out.end(), dup) || std::any_of(taken.begin(), taken.end(), dup))
        continue;
      out.push_back(word);
    }
  }
  return out;
}

std::string check_in_writer::hint_for(const term& t, size_t question_sentence) const {
  for (size_t s : t.sentences) {
    if (s == question_sentence || m_.sentences[s].formula) continue;
    if (m_.sentences[s].tokens.size() > 40) continue;
    std::string clue = blank_out(m_.sentences[s], t);
    if (clue.find(blank) != std::string::npos && blanked_words(clue) >= 4)
      return "Another clue from the text: \"" + clue + "\"";
  }
  std::string start = "the answer starts with \"" + first_char(t.display) + "\"";
  size_t h = m_.sentences[question_sentence].heading;
  if (h != sentence::npos &&
      to_lower(m_.headings[h]).find(to_lower(t.display)) == std::string::npos)
    return "Look at the part about \"" + m_.headings[h] + "\"; " + start + ".";
  std::string words = t.words.size() == 1 ? "one word" : std::to_string(t.words.size()) + " words";
  start[0] = 'T';
  return start + " and is " + words + " long.";
}

check_in check_in_writer::true_or_false(size_t sentence_index, const std::string& topic) const {
  const sentence& s = m_.sentences[sentence_index];
  check_in q;
  std::string statement = s.text.size() > 300 ? utf8_prefix(s.text, 300) + "..." : s.text;
  q.question = "According to the text, is this statement true? \"" + statement + "\"";
  q.options = {"True", "False", "Only partly true", "The text does not say"};
  q.expected_answer = "True";
  q.hint = "Re-read the text about \"" + topic + "\".";
  return q;
}

}  // namespace jobserver::llm
