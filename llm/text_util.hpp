#pragma once

#include <string>
#include <string_view>

namespace jobserver::llm {

/// `s` without leading and trailing white space.
std::string trim(std::string_view s);

/// ASCII lower case (UTF-8 bytes above 0x7f are kept as they are).
std::string to_lower(std::string_view s);

/// At most `max_bytes` of `s`, cut at a UTF-8 character boundary.
std::string utf8_prefix(std::string_view s, size_t max_bytes);

/// Untrusted text (a server's error message) made fit for an error line: one line of
/// printable characters, at most `max_chars` bytes, with every occurrence of `secret`
/// (when not empty) replaced by "***".
std::string safe_excerpt(std::string_view text, size_t max_chars, const std::string& secret);

}  // namespace jobserver::llm
