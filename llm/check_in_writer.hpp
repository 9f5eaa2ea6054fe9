#pragma once

#include <optional>
#include <set>
#include <vector>

#include "llm/provider.hpp"
#include "llm/term_finder.hpp"

namespace jobserver::llm {

/// Writes the offline provider's multiple-choice check-ins: a sentence of the text with
/// the term blanked out, the term and three other terms of the text as options.
class check_in_writer {
 public:
  /// `terms` best first; `concepts` the indexes of the terms that became concepts.
  check_in_writer(const text_model& m, const std::vector<term>& terms,
                  const std::vector<size_t>& concepts)
      : m_(m), terms_(terms), concepts_(concepts) {}

  /// A fill-in-the-blank question about terms[term_index], or nullopt when the text has
  /// no fitting sentence or not enough other terms. `ordinal` varies wording and choice.
  std::optional<check_in> about_term(size_t term_index, size_t ordinal);

  /// "Is this statement true?" about one sentence: the last resort for tiny texts.
  check_in true_or_false(size_t sentence_index, const std::string& topic) const;

 private:
  std::vector<std::string> distractors(const term& t, size_t sentence_index, size_t ordinal) const;
  std::vector<std::string> fallback_words(const term& t, size_t sentence_index, size_t needed,
                                          const std::vector<std::string>& taken) const;
  std::string hint_for(const term& t, size_t question_sentence) const;

  const text_model& m_;
  const std::vector<term>& terms_;
  const std::vector<size_t>& concepts_;
  std::set<size_t> used_sentences_;
};

/// The sentence with every mention of `t` replaced by "_____", cut to about 50 words
/// around the first blank.
std::string blank_out(const sentence& s, const term& t);

/// A stable hash (FNV-1a) for deterministic choices.
uint64_t stable_hash(const std::string& text);

}  // namespace jobserver::llm
