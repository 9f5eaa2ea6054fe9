// The streaming multipart/form-data parser of the upload route (http/multipart.hpp).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "http/multipart.hpp"

using jobserver::http::multipart_parser;

namespace {

struct seen_part {
  std::string name, filename, content_type, content;
};

/// Feeds `body` in chunks of `chunk` bytes; collects the parts.
struct run_result {
  std::vector<seen_part> parts;
  bool accepted = true;  // every feed answered true
  bool complete = false;
  bool malformed = false;
};

run_result parse(const std::string& body, size_t chunk, const std::string& boundary = "XyZ",
                 int refuse_part = -1) {
  run_result r;
  multipart_parser p{
      boundary,
      [&](const multipart_parser::part& part) {
        if (static_cast<int>(r.parts.size()) == refuse_part) return false;
        r.parts.push_back({part.name, part.filename, part.content_type, {}});
        return true;
      },
      [&](const char* data, size_t len) {
        r.parts.back().content.append(data, len);
        return true;
      }};
  for (size_t i = 0; i < body.size() && r.accepted; i += chunk)
    r.accepted = p.feed(body.data() + i, std::min(chunk, body.size() - i));
  r.complete = p.complete();
  r.malformed = p.malformed();
  return r;
}

std::string part(const std::string& headers, const std::string& content) {
  return "--XyZ\r\n" + headers + "\r\n\r\n" + content + "\r\n";
}

}  // namespace

TEST_CASE("a form splits into the same parts and contents however the body is chunked", "[multipart]") {
  // Contents that look like delimiters without being one.
  std::string file = "%PDF-1.7 --XyZ-not-quite\r\n-\r\n--Xy\r\n\r\n--X\r\nend\r\n--Xy";
  for (int i = 0; i < 256; ++i) file += static_cast<char>(i);
  std::string body = part("Content-Disposition: form-data; name=\"title\"", "Cell biology") +
                     part("Content-Disposition: form-data; name=\"file\"; filename=\"cells.pdf\"\r\n"
                          "Content-Type: application/pdf",
                          file) +
                     part("content-disposition: form-data; name=empty", "") + "--XyZ--\r\n";
  for (size_t chunk : {1, 2, 3, 5, 7, 13, 64, 4096, 1 << 20}) {
    INFO("chunk " << chunk);
    auto r = parse(body, chunk);
    CHECK(r.accepted);
    CHECK(r.complete);
    CHECK_FALSE(r.malformed);
    REQUIRE(r.parts.size() == 3);
    CHECK(r.parts[0].name == "title");
    CHECK(r.parts[0].content == "Cell biology");
    CHECK(r.parts[1].name == "file");
    CHECK(r.parts[1].filename == "cells.pdf");
    CHECK(r.parts[1].content_type == "application/pdf");
    CHECK(r.parts[1].content == file);
    CHECK(r.parts[2].name == "empty");
    CHECK(r.parts[2].content.empty());
  }
}

TEST_CASE("a preamble, an epilogue and blanks after a delimiter are ignored", "[multipart]") {
  std::string body = "This is the preamble.\r\n--XyZ  \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
                     "--XyZ--\r\nthe epilogue, with --XyZ in it";
  auto r = parse(body, 3);
  CHECK(r.accepted);
  CHECK(r.complete);
  REQUIRE(r.parts.size() == 1);
  CHECK(r.parts[0].content == "1");
}

TEST_CASE("a body cut off before its closing delimiter is not complete", "[multipart]") {
  std::string body = part("Content-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"", "%PDF-1.4 data");
  auto r = parse(body, 4);
  CHECK_FALSE(r.complete);
  CHECK_FALSE(r.malformed);
  auto none = parse("no delimiter anywhere in this body", 4);
  CHECK_FALSE(none.complete);
  CHECK(none.parts.empty());
}

TEST_CASE("quoted parameters keep semicolons and escaped quotes; a bare filename parameter is read too",
          "[multipart]") {
  std::string body = part("Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\"; c.pdf\"", "x") +
                     part("Content-Disposition: form-data;name=title;filename=t.txt", "y") + "--XyZ--";
  auto r = parse(body, 1);
  CHECK(r.complete);
  REQUIRE(r.parts.size() == 2);
  CHECK(r.parts[0].filename == "a \"b\"; c.pdf");
  CHECK(r.parts[1].name == "title");
  CHECK(r.parts[1].filename == "t.txt");
}

TEST_CASE("a malformed body stops the parser: junk after a delimiter, a header line without a colon, "
          "an endless header block",
          "[multipart]") {
  auto junk = parse("--XyZjunk\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--XyZ--", 5);
  CHECK(junk.malformed);
  CHECK_FALSE(junk.accepted);
  auto colon = parse("--XyZ\r\nno colon here\r\n\r\n1\r\n--XyZ--", 5);
  CHECK(colon.malformed);
  CHECK(colon.parts.empty());
  std::string endless = "--XyZ\r\nX-Long: " + std::string(multipart_parser::max_header_bytes + 10, 'a');
  auto r = parse(endless, 100);
  CHECK(r.malformed);
  CHECK_FALSE(r.accepted);
}

TEST_CASE("a part its callback refuses stops the parsing without calling the body malformed", "[multipart]") {
  std::string body = part("Content-Disposition: form-data; name=a", "1") +
                     part("Content-Disposition: form-data; name=b", "2") + "--XyZ--";
  auto r = parse(body, 7, "XyZ", 1);
  CHECK_FALSE(r.accepted);
  CHECK_FALSE(r.malformed);
  CHECK_FALSE(r.complete);
  REQUIRE(r.parts.size() == 1);
  CHECK(r.parts[0].content == "1");
}

TEST_CASE("the boundary is read from a multipart/form-data content type only", "[multipart]") {
  CHECK(multipart_parser::boundary_of("multipart/form-data; boundary=abc") == "abc");
  CHECK(multipart_parser::boundary_of("Multipart/Form-Data;boundary=\"a b;c\"") == "a b;c");
  CHECK(multipart_parser::boundary_of("multipart/form-data; charset=utf-8; boundary=----x") == "----x");
  CHECK(multipart_parser::boundary_of("multipart/form-data").empty());
  CHECK(multipart_parser::boundary_of("multipart/form-data; boundary=").empty());
  CHECK(multipart_parser::boundary_of("multipart/mixed; boundary=abc").empty());
  CHECK(multipart_parser::boundary_of("text/plain; boundary=abc").empty());
  CHECK(multipart_parser::boundary_of("multipart/form-data; boundary=" + std::string(71, 'a')).empty());
  CHECK(multipart_parser::boundary_of("multipart/form-data; boundary=\"a\x01z\"").empty());
}

TEST_CASE("a delimiter is found after long runs of one byte and near misses, at every alignment "
          "and however the body is chunked",
          "[multipart]") {
  // The search tests 16 positions at a time for the delimiter's first and last bytes; runs
  // of zeros, of carriage returns and of the boundary's own characters, and delimiters cut
  // short or with one byte changed, must neither hide the real one nor pass for it.
  const std::string boundary = "------------------------a1F0b2c3d4e5f607";
  const std::string delimiter = "\r\n--" + boundary;
  std::vector<std::string> fillers{std::string(70000, '0'), std::string(70000, '\0'),
                                   std::string(5000, '\r'), std::string(5000, '-'),
                                   std::string(3000, '7')};
  std::string misses;
  for (size_t k = 1; k < delimiter.size(); ++k) misses += delimiter.substr(0, k) + "x";
  for (size_t k = 0; k < delimiter.size(); ++k) {
    auto changed = delimiter;
    changed[k] = changed[k] == 'x' ? 'y' : 'x';
    misses += changed;
  }
  for (size_t lead = 0; lead < 20; ++lead) {
    for (const auto& filler : fillers) {
      std::string file = std::string(lead, 'a') + filler + misses + filler.substr(0, 100 + lead);
      REQUIRE(file.find(delimiter) == std::string::npos);
      // The closing delimiter comes within the last 16 bytes' reach, after carriage returns.
      std::string title = "T" + std::string(lead % 4, '\r');
      std::string body = "--" + boundary +
                         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.pdf\"\r\n\r\n" +
                         file + delimiter + "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n" +
                         title + delimiter + "--\r\n";
      for (size_t chunk : {size_t{1} << 20, size_t{4096}, size_t{17}}) {
        if (chunk == 17 && lead % 5 != 0) continue;  // byte-sized feeds: a sample is enough
        INFO("lead " << lead << ", filler of '" << static_cast<int>(filler[0]) << "', chunk " << chunk);
        auto r = parse(body, chunk, boundary);
        CHECK(r.accepted);
        CHECK(r.complete);
        REQUIRE(r.parts.size() == 2);
        CHECK(r.parts[0].content == file);
        CHECK(r.parts[1].content == title);
      }
    }
  }
}
