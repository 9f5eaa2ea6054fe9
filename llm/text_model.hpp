#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jobserver::llm {

/// A word of a sentence.
struct token {
  std::string norm;    // normalize_word() of the word
  uint32_t begin = 0;  // byte offsets in the sentence's text
  uint32_t end = 0;
  bool capitalised = false;  // starts with an ASCII capital letter
  bool acronym = false;      // 2+ characters, letters all capitals ("TCP", "CO2")
};

struct sentence {
  std::string text;  // plain text, Markdown removed
  std::vector<token> tokens;
  size_t paragraph = 0;   // index of the paragraph or list item it came from
  size_t heading = npos;  // index into text_model::headings, npos before any heading
  bool formula = false;   // an equation rather than prose
  static constexpr size_t npos = static_cast<size_t>(-1);

  /// The text between two tokens (or before the first / after the last with npos).
  std::string_view gap(size_t after_token, size_t before_token) const;
};

struct text_model {
  std::vector<std::string> headings;    // heading texts, in order
  std::vector<sentence> sentences;      // every sentence of the body, in order
  std::vector<std::string> bold_terms;  // **x** / __x__ spans
  size_t paragraphs = 0;
};

/// Reads Markdown (or plain text): headings, paragraphs, list items, code and formula
/// lines, sentences and their words.
text_model read_text(std::string_view markdown);

/// The words of `text`, with their byte offsets.
std::vector<token> tokenize(std::string_view text);

}  // namespace jobserver::llm
