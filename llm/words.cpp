// Word lists of the offline lesson writer (English).
#include "llm/words.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <set>
#include <unordered_set>

namespace jobserver::llm {
namespace {

using word_set = std::unordered_set<std::string>;

/// The list with every entry normalized, so that lookups of normalized words match.
word_set normalized(std::initializer_list<const char*> list) {
  word_set out;
  for (const char* w : list) out.insert(normalize_word(w));
  return out;
}

const word_set& stopwords() {
  static const word_set words = normalized(
      {"a",         "about",    "above",      "across",    "after",      "again",     "against",
       "all",       "almost",   "along",      "already",   "also",       "although",  "always",
       "among",     "an",       "and",        "another",   "any",        "anything",  "are",
       "around",    "as",       "at",         "back",      "be",         "became",    "because",
       "become",    "becomes",  "been",       "before",    "being",      "below",     "between",
       "both",      "but",      "by",         "can",       "cannot",     "could",     "did",
       "do",        "does",     "doing",      "done",      "down",       "during",    "each",
       "either",    "else",     "enough",     "etc",       "even",       "ever",      "every",
       "few",       "for",      "from",       "further",   "get",        "gets",      "given",
       "gives",     "go",       "goes",       "got",       "had",        "has",       "have",
       "having",    "he",       "her",        "here",      "hers",       "him",       "his",
       "how",       "however",  "i",          "if",        "in",         "instead",   "into",
       "is",        "it",       "its",        "itself",    "just",       "less",      "let",
       "like",      "made",     "make",       "makes",     "many",       "may",       "me",
       "might",     "more",     "most",       "much",      "must",       "my",        "near",
       "need",      "needs",    "neither",    "never",     "no",         "nor",       "not",
       "now",       "of",       "off",        "often",     "on",         "once",      "one",
       "only",      "onto",     "or",         "other",     "others",     "otherwise", "our",
       "out",       "over",     "own",        "per",       "perhaps",    "put",       "quite",
       "rather",    "really",   "same",       "see",       "seen",       "several",   "shall",
       "she",       "should",   "since",      "so",        "some",       "something", "sometimes",
       "still",     "such",     "take",       "takes",     "than",       "that",      "the",
       "their",     "them",     "themselves", "then",      "there",      "therefore", "these",
       "they",      "this",     "those",      "though",    "through",    "thus",      "to",
       "together",  "too",      "toward",     "towards",   "two",        "three",     "under",
       "unless",    "until",    "up",         "upon",      "us",         "use",       "used",
       "uses",      "using",    "usually",    "very",      "via",        "was",       "we",
       "well",      "were",     "what",       "whatever",  "when",       "where",     "whether",
       "which",     "while",    "who",        "whom",      "whose",      "why",       "will",
       "with",      "within",   "without",    "would",     "yet",        "you",       "your",
       "e.g",       "i.e",      "eg",         "ie",        "called",     "known",     "means",
       "refer",     "refers",   "describe",   "describes", "defined",    "include",   "includes",
       "including", "contain",  "contains",   "allow",     "allows",     "provide",   "provides",
       "call",      "mean",     "first",      "second",    "third",      "new",       "old",
       "high",      "low",      "large",      "small",     "different",  "important", "certain",
       "main",      "same",     "various",    "specific",  "particular", "general",   "common",
       "possible",  "able",     "whereas",    "whose",     "note",       "always",    "every",
       "four",      "five",     "six",        "seven",     "eight",      "nine",      "ten",
       "hundred",   "thousand", "million",    "happens",   "happen",     "occur",     "occurs",
       "produce",   "produces", "require",    "requires",  "become",     "remain",    "remains",
       "keep",      "keeps",    "known",      "shown",     "show",       "shows"});
  return words;
}

const word_set& generic_words() {
  static const word_set words = normalized(
      {"example", "way",    "part",   "type",        "kind",     "number",  "amount",   "form",
       "case",    "result", "order",  "point",       "time",     "step",    "level",    "value",
       "thing",   "lot",    "set",    "fact",        "idea",     "term",    "section",  "chapter",
       "figure",  "table",  "page",   "text",        "lesson",   "student", "question", "answer",
       "reason",  "end",    "start",  "side",        "area",     "place",   "instance", "result",
       "effect",  "role",   "group",  "people",      "person",   "year",    "day",      "word",
       "line",    "note",   "detail", "information", "other",    "aspect",  "feature",  "item",
       "list",    "many",   "much",   "lot",         "approach", "method",  "problem",  "rule",
       "unit",    "change", "use",    "help",        "work",     "make",    "need",     "found",
       "rate",    "size",   "total"});
  return words;
}

constexpr std::array<const char*, 8> example_cues = {
    "for example", "e.g.",       "such as",          "for instance",
    "an example",  "example of", "examples include", "to illustrate"};
constexpr std::array<const char*, 12> note_cues = {
    "must ",     "always",   "never",   "note ",     "note:",   "note that",
    "important", "remember", "crucial", "essential", "warning", "be careful"};

bool contains_any(const std::string& text, const char* const* begin, const char* const* end) {
  return std::any_of(begin, end,
                     [&](const char* cue) { return text.find(cue) != std::string::npos; });
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string normalize_word(std::string_view word) {
  std::string w;
  w.reserve(word.size());
  for (char ch : word) w.push_back(ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch);
  if (ends_with(w, "'s")) w.resize(w.size() - 2);
  if (ends_with(w, "\xE2\x80\x99s")) w.resize(w.size() - 4);  // ’s
  if (w.size() < 4) return w;
  if (ends_with(w, "ies") && w.size() > 4) return w.substr(0, w.size() - 3) + "y";
  if (ends_with(w, "sses") || ends_with(w, "ches") || ends_with(w, "shes") || ends_with(w, "xes"))
    return w.substr(0, w.size() - 2);
  if (ends_with(w, "s") && !ends_with(w, "ss") && !ends_with(w, "us") && !ends_with(w, "is"))
    return w.substr(0, w.size() - 1);
  return w;
}

bool is_stopword(const std::string& norm) {
  return stopwords().count(norm) > 0;
}

bool is_generic(const std::string& norm) {
  return generic_words().count(norm) > 0;
}

bool has_example_cue(const std::string& lower_sentence) {
  return contains_any(lower_sentence, example_cues.begin(), example_cues.end());
}

bool has_note_cue(const std::string& lower_sentence) {
  return contains_any(lower_sentence, note_cues.begin(), note_cues.end());
}

bool is_abbreviation(const std::string& norm) {
  static const std::set<std::string, std::less<>> words = {
      "e.g", "i.e", "etc", "vs", "dr",   "mr",  "mrs", "ms", "prof", "fig", "no",  "approx", "al",
      "cf",  "st",  "eq",  "ca", "resp", "vol", "p",   "pp", "ch",   "sec", "inc", "ltd",    "jr"};
  return words.count(norm) > 0 || (norm.size() == 1 && norm[0] >= 'a' && norm[0] <= 'z');
}

}  // namespace jobserver::llm
