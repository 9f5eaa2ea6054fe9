#include "http/multipart.hpp"

#include <cctype>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace jobserver::http {
namespace {

constexpr const char* crlf = "\r\n";

bool iequals(const std::string& a, const char* b) {
  size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

/// `key=value` parameters after the first `;` of a header value; a quoted value loses its
/// quotes and backslash escapes. Calls `fn(lowercase key, value)` for each.
template <typename F>
void for_each_param(const std::string& value, F&& fn) {
  size_t i = value.find(';');
  while (i != std::string::npos && i < value.size()) {
    ++i;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    size_t eq = value.find('=', i);
    size_t semi = value.find(';', i);
    if (eq == std::string::npos || (semi != std::string::npos && semi < eq)) {
      i = semi;
      continue;
    }
    std::string key = trim(value.substr(i, eq - i));
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t j = eq + 1;
    while (j < value.size() && (value[j] == ' ' || value[j] == '\t')) ++j;
    std::string v;
    if (j < value.size() && value[j] == '"') {
      for (++j; j < value.size() && value[j] != '"'; ++j) {
        if (value[j] == '\\' && j + 1 < value.size()) ++j;
        v += value[j];
      }
      i = value.find(';', j);
    } else {
      size_t end = value.find(';', j);
      v = trim(value.substr(j, end == std::string::npos ? std::string::npos : end - j));
      i = end;
    }
    fn(key, v);
  }
}

/// The first occurrence of `needle` (the delimiter, "\r\n--" + boundary) in `hay`, or null.
/// glibc's memmem skips by a hash of byte pairs and slows down tenfold on long runs of one
/// byte (zero padding, blank image data) whenever the needle holds a pair of the same hash,
/// which depends on the client's random boundary. Here 16 positions at a time are tested for
/// the needle's first and last bytes (SSE2), and only positions that have both are compared
/// in full. The needle's first byte, CR, appears nowhere else in it (a boundary has no
/// control characters), so the full comparisons together never read more than the input
/// once: the time is linear in the input whatever it holds.
const char* find_delimiter(const char* hay, size_t n, const std::string& needle) {
  const size_t m = needle.size();
  if (m < 2 || n < m) return nullptr;
  const char* nd = needle.data();
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i first = _mm_set1_epi8(nd[0]);
  const __m128i last = _mm_set1_epi8(nd[m - 1]);
  for (; i + m - 1 + 16 <= n; i += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(hay + i + m - 1));
    auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last))));
    while (mask != 0) {
      auto bit = static_cast<size_t>(__builtin_ctz(mask));
      if (std::memcmp(hay + i + bit + 1, nd + 1, m - 2) == 0) return hay + i + bit;
      mask &= mask - 1;
    }
  }
#endif
  // The rest (and builds without SSE2): from one CR to the next.
  while (i + m <= n) {
    const auto* p = static_cast<const char*>(std::memchr(hay + i, nd[0], n - m + 1 - i));
    if (p == nullptr) return nullptr;
    if (std::memcmp(p, nd, m) == 0) return p;
    i = static_cast<size_t>(p - hay) + 1;
  }
  return nullptr;
}

}  // namespace

multipart_parser::multipart_parser(std::string boundary, part_fn on_part, data_fn on_data)
  : delimiter_("\r\n--" + boundary), on_part_(std::move(on_part)), on_data_(std::move(on_data)),
    // The first delimiter may open the body without a line break before it: pretend one.
    buf_(crlf) {}

std::string multipart_parser::boundary_of(const std::string& content_type) {
  auto semi = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semi)), "multipart/form-data")) return {};
  std::string boundary;
  for_each_param(content_type, [&](const std::string& key, const std::string& v) {
    if (key == "boundary" && boundary.empty()) boundary = v;
  });
  if (boundary.size() > 70) return {};  // RFC 2046: 1 to 70 characters
  for (char c : boundary)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return {};
  return boundary;
}

bool multipart_parser::fail() {
  malformed_ = true;
  state_ = state::stopped;
  return false;
}

bool multipart_parser::feed(const char* data, size_t n) {
  if (state_ == state::done) return true;  // the epilogue
  if (state_ == state::stopped) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
  return run();
}

bool multipart_parser::run() {
  const size_t dlen = delimiter_.size();
  for (;;) {
    const char* base = buf_.data();
    size_t avail = buf_.size() - pos_;
    switch (state_) {
      case state::preamble:
      case state::content: {
        const char* hit = find_delimiter(base + pos_, avail, delimiter_);
        if (hit != nullptr) {
          size_t len = static_cast<size_t>(hit - (base + pos_));
          if (state_ == state::content && len > 0 && !on_data_(base + pos_, len)) {
            state_ = state::stopped;
            return false;
          }
          pos_ += len + dlen;
          state_ = state::after_delimiter;
          break;
        }
        // Keep what could be the start of a delimiter split across feeds.
        if (avail >= dlen) {
          size_t len = avail - (dlen - 1);
          if (state_ == state::content && !on_data_(base + pos_, len)) {
            state_ = state::stopped;
            return false;
          }
          pos_ += len;
        }
        return true;
      }
      case state::after_delimiter: {
        // "--" closes the body; otherwise optional blanks (transport padding) and a CRLF.
        if (avail < 2) return true;
        if (base[pos_] == '-' && base[pos_ + 1] == '-') {
          state_ = state::done;
          pos_ = buf_.size();
          return true;
        }
        size_t i = pos_;
        while (i < buf_.size() && (buf_[i] == ' ' || buf_[i] == '\t')) ++i;
        if (i - pos_ > 64) return fail();
        if (buf_.size() - i < 2) return true;
        if (buf_.compare(i, 2, crlf) != 0) return fail();
        pos_ = i;  // at the CRLF that ends the delimiter line
        state_ = state::headers;
        break;
      }
      case state::headers: {
        // The block runs from after the delimiter line's CRLF to an empty line.
        auto* end = static_cast<const char*>(::memmem(base + pos_, avail, "\r\n\r\n", 4));
        if (end == nullptr) {
          if (avail > max_header_bytes) return fail();
          return true;
        }
        size_t len = static_cast<size_t>(end - (base + pos_));
        if (len > max_header_bytes) return fail();
        std::string block = len > 2 ? buf_.substr(pos_ + 2, len - 2) : std::string{};
        pos_ += len + 4;
        if (!parse_headers(block)) return fail();
        if (state_ == state::stopped) return false;  // the part was refused
        state_ = state::content;
        break;
      }
      case state::done:
        return true;
      case state::stopped:
        return false;
    }
  }
}

bool multipart_parser::parse_headers(const std::string& block) {
  part p;
  size_t i = 0;
  while (i < block.size()) {
    size_t e = block.find(crlf, i);
    if (e == std::string::npos) e = block.size();
    std::string line = block.substr(i, e - i);
    i = e + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) return false;
    std::string name = trim(line.substr(0, colon));
    std::string value = trim(line.substr(colon + 1));
    if (iequals(name, "content-disposition")) {
      for_each_param(value, [&](const std::string& key, const std::string& v) {
        if (key == "name") p.name = v;
        else if (key == "filename") p.filename = v;
      });
    } else if (iequals(name, "content-type")) {
      p.content_type = value;
    }
  }
  if (!on_part_(p)) {
    state_ = state::stopped;
    return true;  // refused, not malformed: run() sees `stopped`
  }
  return true;
}

}  // namespace jobserver::http
