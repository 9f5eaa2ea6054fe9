#pragma once

#include <string>
#include <vector>

#include "llm/text_model.hpp"

namespace jobserver::llm {

/// A key term of a text, found by the offline lesson writer.
struct term {
  std::string key;                     // normalized words joined by ' '
  std::vector<std::string> words;      // normalized words
  std::string display;                 // the term as the text writes it
  std::vector<size_t> sentences;       // the sentences that mention it, ascending
  size_t definition = sentence::npos;  // a sentence that defines it
  size_t first_token = 0;              // where it first appears in sentences[0]
  double score = 0;
  bool proper = false;  // a name or an acronym
};

/// The key terms of `section`, best first: defined terms ("X is a ...", "X means ...",
/// "called X"), bold and heading terms, names and acronyms, and frequent words and
/// phrases; weighted by how rare they are in `document` when it is given.
std::vector<term> find_terms(const text_model& section, const text_model* document);

/// The token indexes in `s` where `t` starts.
std::vector<size_t> find_mentions(const sentence& s, const term& t);

/// Whether one term's words appear, in order and adjacent, inside the other's.
bool overlaps(const term& a, const term& b);

/// Whether `short_form` is the acronym of `long_form` ("TCP", "Transmission Control
/// Protocol").
bool abbreviates(const term& short_form, const term& long_form);

/// The same idea under two names: overlapping words, or an acronym and its expansion.
bool same_idea(const term& a, const term& b);

}  // namespace jobserver::llm
