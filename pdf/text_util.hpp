#pragma once

// Text helpers shared by the passes: UTF-8 output of untrusted code points, the
// normalisation used to compare titles with lines, and small classifiers of line text.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace jobserver::pdf::detail {

/// Appends code point `cp` to `out` as UTF-8, dropping what has no business in text
/// (controls, surrogates, private use, zero-width marks) and spelling out ligatures.
void append_code_point(std::string& out, uint32_t cp);

/// `s` with invalid UTF-8 sequences and control characters removed.
std::string sanitize_utf8(std::string_view s);

/// Lower case ASCII letters and digits, every other run of characters (spaces,
/// punctuation) as one space, trimmed: "1.2  The R-Environment:" -> "1 2 the r environment".
/// Non-ASCII letters are kept as they are.
std::string normalize_for_match(std::string_view s);

/// Whitespace runs as one space, trimmed.
std::string collapse_spaces(std::string_view s);

/// `s` cut to at most `max_bytes` without splitting a UTF-8 sequence.
std::string truncate_utf8(std::string_view s, std::size_t max_bytes);

/// "12", "xiv", "Page 3", "3 / 10", "- 4 -": what a page number line looks like.
bool is_page_number(std::string_view s);

/// A table-of-contents entry: dot leaders, or a title followed by a page number after
/// a run of dots or spaces.
bool looks_like_toc_entry(std::string_view s);

/// Depth of a leading section number: "1 Intro" -> 1, "2.3.1 Foo" -> 3, "A.2 Bar" -> 2,
/// "Chapter 3" / "Part II" / "Appendix B" -> 1; 0 when the text is not numbered.
int numbering_depth(std::string_view s);

/// A list item: a bullet, "1." / "1)" / "(a)" / "a)" followed by text.
bool is_list_item(std::string_view s);

/// Drops a leading bullet character (and the space after it) from a list item.
std::string strip_bullet(std::string_view s);

/// The first one or two sentences of `text` (the second only when the first is short),
/// at most about `max_bytes`.
std::string first_sentences(std::string_view text, std::size_t max_bytes = 400);

/// Counts letters and digits (any script: every byte >= 0x80 that starts a sequence).
std::size_t count_alnum(std::string_view s);

bool ends_sentence(std::string_view s);

}  // namespace jobserver::pdf::detail
