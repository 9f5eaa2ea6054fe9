#pragma once

#include <string>
#include <string_view>

namespace jobserver::llm {

/// The form of a word used to compare words: ASCII lower case, no possessive 's, and a
/// plural's simple singular ("protocols" -> "protocol", "bodies" -> "body").
std::string normalize_word(std::string_view word);

/// Function words, pronouns, common verbs and adverbs: never the first or last word of a
/// key term. Takes a normalized word.
bool is_stopword(const std::string& norm);

/// Words too vague to be a key term on their own ("example", "way", "part", ...).
bool is_generic(const std::string& norm);

/// Sentence cues, matched on the lower-cased sentence.
bool has_example_cue(const std::string& lower_sentence);
bool has_note_cue(const std::string& lower_sentence);

/// Whether a normalized word before a full stop is an abbreviation ("e.g", "dr", "fig").
bool is_abbreviation(const std::string& norm);

}  // namespace jobserver::llm
