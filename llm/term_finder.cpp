// Key terms of a text for the offline lesson writer.
#include "llm/term_finder.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "llm/text_util.hpp"
#include "llm/words.hpp"

namespace jobserver::llm {
namespace {

constexpr size_t max_term_words = 5;
constexpr size_t max_terms = 200;

struct candidate {
  std::vector<std::string> words;
  bool bold = false, defined = false, heading = false, heading_word = false, proper = false;
  size_t definition = sentence::npos;
};

using word_index = std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>>;

word_index index_words(const text_model& m) {
  word_index index;
  for (uint32_t s = 0; s < m.sentences.size(); ++s)
    for (uint32_t t = 0; t < m.sentences[s].tokens.size(); ++t)
      index[m.sentences[s].tokens[t].norm].emplace_back(s, t);
  return index;
}

/// Tokens a and a+1 are one phrase: only spaces or a hyphen between them.
bool joined(const sentence& s, size_t a) {
  for (char ch : s.gap(a, a + 1))
    if (ch != ' ' && ch != '-') return false;
  return true;
}

bool matches_at(const sentence& s, size_t at, const std::vector<std::string>& words) {
  if (at + words.size() > s.tokens.size()) return false;
  for (size_t j = 0; j < words.size(); ++j) {
    if (s.tokens[at + j].norm != words[j]) return false;
    if (j > 0 && !joined(s, at + j - 1)) return false;
  }
  return true;
}

bool has_letter(const std::string& w) {
  return std::any_of(w.begin(), w.end(), [](char ch) {
    return std::isalpha(static_cast<unsigned char>(ch)) || static_cast<unsigned char>(ch) >= 0x80;
  });
}

bool content_word(const token& t) {
  return !is_stopword(t.norm) && has_letter(t.norm) && (t.norm.size() >= 4 || t.acronym) &&
         !(t.norm.size() > 4 && t.norm.compare(t.norm.size() - 2, 2, "ly") == 0);
}

bool is_participle(const std::string& w) {
  static const std::set<std::string, std::less<>> words = {
      "sent",   "made",  "known", "given", "taken", "seen",    "done",    "found",  "built",
      "held",   "kept",  "lost",  "set",   "put",   "shown",   "written", "broken", "chosen",
      "driven", "split", "not",   "often", "also",  "usually", "then",    "being"};
  return words.count(w) > 0 || (w.size() > 4 && w.compare(w.size() - 2, 2, "ed") == 0);
}

class finder {
 public:
  finder(const text_model& m, const text_model* doc) : m_(m), doc_(doc) {}

  std::vector<term> run() {
    for (const auto& b : m_.bold_terms) add_phrase(tokenize(b), 0, &candidate::bold);
    for (const auto& h : m_.headings) add_heading(h);
    for (size_t i = 0; i < m_.sentences.size(); ++i) {
      if (m_.sentences[i].formula) continue;
      add_definitions(i);
      add_names(m_.sentences[i]);
    }
    add_frequent();
    if (candidates_.size() < 4) add_every_word();  // a very short text
    return score_all();
  }

 private:
  /// Adds tokens [from, to) as a candidate when they look like a term.
  candidate* add_span(const std::vector<token>& toks, size_t from, size_t to) {
    if (to <= from || to - from > max_term_words) return nullptr;
    if (is_stopword(toks[from].norm) || is_stopword(toks[to - 1].norm)) return nullptr;
    if (to - from == 1 && (is_generic(toks[from].norm) || !has_letter(toks[from].norm)))
      return nullptr;
    std::vector<std::string> words;
    for (size_t i = from; i < to; ++i) words.push_back(toks[i].norm);
    std::string key;
    for (const auto& w : words) key += (key.empty() ? "" : " ") + w;
    auto& c = candidates_[key];
    c.words = std::move(words);
    return &c;
  }

  void add_phrase(const std::vector<token>& toks, size_t skip, bool candidate::*flag) {
    if (auto* c = add_span(toks, skip, toks.size())) c->*flag = true;
  }

  static size_t first_word(const std::vector<token>& toks) {
    size_t i = 0;
    while (i < toks.size() && (is_stopword(toks[i].norm) || !has_letter(toks[i].norm))) ++i;
    return i;
  }

  /// Each run of words of a heading between function words and punctuation
  /// ("Flow control and congestion control" -> "flow control", "congestion control").
  void add_heading(const std::string& h) {
    sentence line;
    line.text = h;
    line.tokens = tokenize(h);
    const auto& toks = line.tokens;
    for (size_t i = 0; i < toks.size();) {
      if (is_stopword(toks[i].norm) || !has_letter(toks[i].norm)) {
        ++i;
        continue;
      }
      size_t j = i + 1;
      while (j < toks.size() && joined(line, j - 1) &&
             (!is_stopword(toks[j].norm) || toks[j].norm == "of"))
        ++j;
      bool whole = i == first_word(toks) && j == toks.size();
      if (j - i >= 2 || whole)
        if (auto* c = add_span(toks, i, j)) c->heading = true;
      for (size_t k = i; k < j; ++k)
        if (content_word(toks[k]) && !is_generic(toks[k].norm))
          if (auto* c = add_span(toks, k, k + 1)) c->heading_word = true;
      i = j;
    }
  }

  /// "X is a ...", "X are ...", "X means ...", "X refers to ...", "... called X".
  void add_definitions(size_t index) {
    const sentence& s = m_.sentences[index];
    const auto& toks = s.tokens;
    for (size_t v = 1; v < toks.size() && v <= 8; ++v) {
      const std::string& w = toks[v].norm;
      if ((w == "called" || w == "termed" || w == "named" ||
           (w == "as" && toks[v - 1].norm == "known")) &&
          v + 1 < toks.size()) {
        size_t end = v + 1;
        while (end < toks.size() && end - v <= 4 && !is_stopword(toks[end].norm) &&
               (end == v + 1 || joined(s, end - 1)))
          ++end;
        if (auto* c = add_span(toks, v + 1, end)) mark_defined(*c, index);
        return;
      }
      bool verb = w == "mean" || w == "denote" ||
                  (w == "refer" && v + 1 < toks.size() && toks[v + 1].norm == "to");
      if ((w == "is" || w == "are") && v + 1 < toks.size()) {
        const std::string& next = toks[v + 1].norm;
        verb = next == "a" || next == "an" || next == "the" || next == "one" || next == "defined" ||
               (!is_stopword(next) && !is_participle(next));
      }
      if (!verb) continue;
      size_t start = 0;  // the clause: after the last comma, colon or bracket
      for (size_t k = 1; k < v; ++k) {
        auto g = s.gap(k - 1, k);
        if (g.find_first_of(",:;()") != std::string_view::npos) start = k;
      }
      while (start < v &&
             (toks[start].norm == "the" || toks[start].norm == "a" || toks[start].norm == "an"))
        ++start;
      bool plain = true;
      for (size_t k = start; k + 1 < v; ++k) plain = plain && joined(s, k);
      for (size_t k = start + 1; k + 1 < v; ++k)
        plain = plain && (!is_stopword(toks[k].norm) || toks[k].norm == "of");
      if (plain && v - start <= 4)
        if (auto* c = add_span(toks, start, v)) mark_defined(*c, index);
      return;
    }
  }

  void mark_defined(candidate& c, size_t index) {
    c.defined = true;
    if (c.definition == sentence::npos) c.definition = index;
  }

  /// Runs of capitalised words ("Transmission Control Protocol") and acronyms ("TCP").
  void add_names(const sentence& s) {
    const auto& toks = s.tokens;
    for (size_t i = 0; i < toks.size();) {
      size_t j = i;
      while (j < toks.size() && toks[j].capitalised && !is_stopword(toks[j].norm) &&
             (j == i || joined(s, j - 1)))
        ++j;
      if (j - i >= 2) {
        if (auto* c = add_span(toks, i, std::min(j, i + max_term_words))) c->proper = true;
      } else if (j - i == 1 && toks[i].acronym && toks[i].norm.size() <= 8) {
        if (auto* c = add_span(toks, i, j)) c->proper = true;
      } else if (j - i == 1 && i > 0 && content_word(toks[i])) {
        if (++capitalised_[toks[i].norm] == 2)
          if (auto* c = add_span(toks, i, j)) c->proper = true;
      }
      i = std::max(j, i + 1);
    }
  }

  /// Words and 2-3 word phrases that appear in at least two sentences.
  void add_frequent() {
    std::unordered_map<std::string, std::pair<size_t, std::vector<token>>> counts;
    for (const auto& s : m_.sentences) {
      if (s.formula) continue;
      std::unordered_set<std::string> seen;
      const auto& toks = s.tokens;
      for (size_t i = 0; i < toks.size(); ++i) {
        if (!content_word(toks[i])) continue;
        for (size_t len = 1; len <= 3 && i + len <= toks.size(); ++len) {
          size_t last = i + len - 1;
          if (len > 1 && !joined(s, last - 1)) break;
          if (len > 1 && (!has_letter(toks[last].norm) || toks[last].norm.size() < 3)) continue;
          if (len == 3 && is_stopword(toks[i + 1].norm) && toks[i + 1].norm != "of") continue;
          if (len == 2 && is_stopword(toks[last].norm)) continue;
          std::string key;
          for (size_t k = i; k <= last; ++k) key += (k == i ? "" : " ") + toks[k].norm;
          if (!seen.insert(key).second) continue;
          auto& entry = counts[key];
          if (++entry.first == 1)
            entry.second.assign(toks.begin() + static_cast<std::ptrdiff_t>(i),
                                toks.begin() + static_cast<std::ptrdiff_t>(last + 1));
        }
      }
    }
    std::vector<std::pair<size_t, std::string>> ranked;
    for (const auto& [key, entry] : counts)
      if (entry.first >= 2) ranked.emplace_back(entry.first, key);
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    if (ranked.size() > 2 * max_terms) ranked.resize(2 * max_terms);
    for (const auto& [n, key] : ranked) {
      const auto& toks = counts[key].second;
      add_span(toks, 0, toks.size());
    }
  }

  /// Adjacent word pairs inside the phrases among the candidates ("congestion window").
  std::unordered_set<std::string> phrase_pairs() const {
    std::unordered_set<std::string> pairs;
    for (const auto& [key, c] : candidates_)
      for (size_t i = 0; i + 1 < c.words.size(); ++i)
        if (!is_stopword(c.words[i]) && !is_stopword(c.words[i + 1]))
          pairs.insert(c.words[i] + " " + c.words[i + 1]);
    return pairs;
  }

  /// Whether the word at s.tokens[i] is part of a phrase that is a candidate itself.
  static bool in_phrase(const sentence& s, size_t i, const std::unordered_set<std::string>& pairs) {
    const auto& toks = s.tokens;
    return (i > 0 && joined(s, i - 1) && pairs.count(toks[i - 1].norm + " " + toks[i].norm)) ||
           (i + 1 < toks.size() && joined(s, i) &&
            pairs.count(toks[i].norm + " " + toks[i + 1].norm));
  }

  void add_every_word() {
    for (const auto& s : m_.sentences)
      if (!s.formula)
        for (size_t i = 0; i < s.tokens.size(); ++i)
          if (content_word(s.tokens[i])) add_span(s.tokens, i, i + 1);
  }

  std::vector<term> score_all() {
    word_index index = index_words(m_);
    word_index doc_index;
    if (doc_ != nullptr) doc_index = index_words(*doc_);
    std::unordered_set<std::string> pairs = phrase_pairs();
    std::vector<term> out;
    for (const auto& [key, c] : candidates_) {
      term t;
      t.key = key;
      t.words = c.words;
      t.definition = c.definition;
      t.proper = c.proper;
      // A plain word counts only where it stands alone: "congestion" in "congestion
      // window" is a mention of the phrase, not of the word.
      bool plain_word = c.words.size() == 1 && !c.defined && !c.bold;
      size_t free_sentences = 0, last_free = sentence::npos;
      std::map<std::string, std::pair<double, size_t>> forms;  // form -> weight, first seen
      for (const auto& [si, ti] : index[c.words[0]]) {
        const sentence& s = m_.sentences[si];
        if (!matches_at(s, ti, c.words)) continue;
        if (t.sentences.empty()) t.first_token = ti;
        bool free = !plain_word || !in_phrase(s, ti, pairs);
        if (t.sentences.empty() || t.sentences.back() != si) t.sentences.push_back(si);
        if (free && last_free != si) {
          ++free_sentences;
          last_free = si;
        }
        std::string form = s.text.substr(
            s.tokens[ti].begin, s.tokens[ti + c.words.size() - 1].end - s.tokens[ti].begin);
        auto& f = forms.try_emplace(form, 0.0, forms.size()).first->second;
        f.first += ti == 0 ? 1.0 : 2.0;
      }
      if (t.sentences.empty() || free_sentences == 0) continue;
      auto best = std::max_element(forms.begin(), forms.end(), [](const auto& a, const auto& b) {
        return a.second.first != b.second.first ? a.second.first < b.second.first
                                                : a.second.second > b.second.second;
      });
      t.display = best->first;
      double boost = 1 + 2.0 * c.bold + 2.5 * c.defined + 1.5 * c.heading + 0.5 * c.heading_word +
                     0.7 * c.proper + 0.4 * static_cast<double>(c.words.size() - 1);
      t.score = std::sqrt(static_cast<double>(free_sentences)) * boost * rarity(doc_index, c.words);
      out.push_back(std::move(t));
    }
    std::sort(out.begin(), out.end(), [](const term& a, const term& b) {
      if (a.score != b.score) return a.score > b.score;
      if (a.sentences[0] != b.sentences[0]) return a.sentences[0] < b.sentences[0];
      if (a.first_token != b.first_token) return a.first_token < b.first_token;
      return a.key < b.key;
    });
    if (out.size() > max_terms) out.resize(max_terms);
    return out;
  }

  /// 0.5-1.5: how much rarer the term is in the whole document than here.
  double rarity(word_index& doc_index, const std::vector<std::string>& words) const {
    if (doc_ == nullptr || doc_->sentences.empty()) return 1.0;
    std::set<uint32_t> hits;
    for (const auto& [si, ti] : doc_index[words[0]])
      if (matches_at(doc_->sentences[si], ti, words)) hits.insert(si);
    double n = static_cast<double>(doc_->sentences.size());
    return 0.5 + std::log((n + 1) / (static_cast<double>(hits.size()) + 1)) / std::log(n + 1);
  }

  const text_model& m_;
  const text_model* doc_;
  std::map<std::string, candidate> candidates_;
  std::map<std::string, int> capitalised_;
};

}  // namespace

std::vector<term> find_terms(const text_model& section, const text_model* document) {
  return finder{section, document}.run();
}

std::vector<size_t> find_mentions(const sentence& s, const term& t) {
  std::vector<size_t> out;
  for (size_t i = 0; i + t.words.size() <= s.tokens.size(); ++i)
    if (matches_at(s, i, t.words)) out.push_back(i);
  return out;
}

bool overlaps(const term& a, const term& b) {
  const auto& longer = a.words.size() >= b.words.size() ? a.words : b.words;
  const auto& shorter = a.words.size() >= b.words.size() ? b.words : a.words;
  return std::search(longer.begin(), longer.end(), shorter.begin(), shorter.end()) != longer.end();
}

}  // namespace jobserver::llm

namespace jobserver::llm {

bool abbreviates(const term& short_form, const term& long_form) {
  if (short_form.words.size() != 1 || long_form.words.size() < 2) return false;
  const std::string& acronym = short_form.words[0];
  if (acronym.size() != long_form.words.size()) return false;
  for (size_t i = 0; i < acronym.size(); ++i)
    if (long_form.words[i].empty() || long_form.words[i][0] != acronym[i]) return false;
  return true;
}

bool same_idea(const term& a, const term& b) {
  return overlaps(a, b) || abbreviates(a, b) || abbreviates(b, a);
}

}  // namespace jobserver::llm
