#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace jobserver::http {

/// A streaming multipart/form-data parser (RFC 7578) that is fed the body in chunks as
/// they arrive. Part contents are handed on as they are found, never kept: memory stays
/// bounded by the header limit whatever the body's size. Delimiters are found 16 bytes at a
/// time, in time linear in the input whatever it holds, so a 20 MB file passes at memory
/// speed (cpp-httplib 0.11's own parser copies and scans byte by byte).
class multipart_parser {
 public:
  /// One part's headers.
  struct part {
    std::string name;          // Content-Disposition's `name`
    std::string filename;      // its `filename` (raw, as the client sent it)
    std::string content_type;  // the part's Content-Type, if any
  };
  /// A part starts; false stops the parsing.
  using part_fn = std::function<bool(const part&)>;
  /// Bytes of the current part's content; false stops the parsing.
  using data_fn = std::function<bool(const char*, size_t)>;

  static constexpr size_t max_header_bytes = 8192;  // all headers of one part

  multipart_parser(std::string boundary, part_fn on_part, data_fn on_data);

  /// The boundary parameter of a multipart/form-data Content-Type ("" when none or
  /// not a valid boundary: 1-70 characters).
  static std::string boundary_of(const std::string& content_type);

  /// Feeds the next bytes of the body. False once parsing stopped: a callback refused,
  /// the body is malformed (`malformed()`), or the closing delimiter was already seen
  /// (bytes after it, the epilogue, are ignored and still answer true).
  bool feed(const char* data, size_t n);

  /// Whether the closing delimiter (`--boundary--`) was seen.
  bool complete() const { return state_ == state::done; }
  bool malformed() const { return malformed_; }

 private:
  enum class state { preamble, after_delimiter, headers, content, done, stopped };

  bool fail();
  bool parse_headers(const std::string& block);
  /// Consumes buffered input; false when parsing stopped.
  bool run();

  std::string delimiter_;  // "\r\n--" + boundary
  part_fn on_part_;
  data_fn on_data_;
  std::string buf_;  // unconsumed input (a small tail between feeds)
  size_t pos_ = 0;   // consumed prefix of buf_
  state state_ = state::preamble;
  bool malformed_ = false;
};

}  // namespace jobserver::http
