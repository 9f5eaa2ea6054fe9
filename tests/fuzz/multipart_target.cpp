// Drives a multipart body through cpp-httplib's own request parser (Server::process_request
// over an in-memory stream, no socket) into read_upload_form and the upload route's checks.
#include <httplib.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstring>

#include "http/request.hpp"
#include "http/upload_form.hpp"
#include "persistence/job.hpp"
#include "tests/fuzz/targets.hpp"

namespace jobserver::fuzz {
namespace {

constexpr const char* boundary = "jobserver-fuzz-boundary";
constexpr size_t file_limit = 256 * 1024;

/// A request read from memory; the answer is discarded.
class memory_stream final : public httplib::Stream {
 public:
  explicit memory_stream(std::string in) : in_(std::move(in)) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    // Small, varying reads, as a network delivers them.
    size_t n = std::min({size, in_.size() - pos_, chunk_});
    chunk_ = chunk_ * 7 % 1021 + 1;
    std::memcpy(ptr, in_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char*, size_t size) override { return static_cast<ssize_t>(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 8080;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string in_;
  size_t pos_ = 0;
  size_t chunk_ = 97;
};

/// A cpp-httplib server whose one route does what POST /upload/pdf-structured does
/// before it touches storage or the database.
class upload_server final : public httplib::Server {
 public:
  upload_server() {
    set_payload_max_length(1 << 20);
    Post("/upload", [](const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader) {
      try {
        handle(req, res, reader);
      } catch (const app_error& e) {
        expect_code(e, {errc::invalid_input});
        res.status = 400;
      }
    });
  }

  void run(std::string request) {
    memory_stream s{std::move(request)};
    bool closed = false;
    process_request(s, true, closed, [](httplib::Request&) {});
  }

 private:
  static void handle(const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader) {
    if (!req.is_multipart_form_data()) {
      reader([](const char*, size_t) { return true; });
      res.status = 400;
      return;
    }
    std::string head;
    size_t total = 0;
    auto f = http::read_upload_form(req, reader, [&]() -> http::file_sink {
      return [&](const char* data, size_t len) {
        total += len;
        if (head.size() < 1024) head.append(data, std::min(len, 1024 - head.size()));
        return total <= file_limit;
      };
    });
    require(f.fields.size() <= 32, "more than 32 fields kept");
    for (const auto& [name, value] : f.fields) {
      require(name.size() <= 64, "field name over 64 bytes kept");
      require(value.size() <= 4096, "field value over 4096 bytes kept");
    }
    if (f.too_many_parts || !f.has_file || !f.complete) {
      res.status = 400;
      return;
    }
    std::string course_id =
        f.fields.count("course_id") ? http::clean_field(f.fields["course_id"], "course_id") : "";
    if (!course_id.empty() && !persistence::is_uuid(course_id)) {
      res.status = 400;
      return;
    }
    const auto name = http::clean_filename(f.filename);
    require(!name.empty() && name.size() <= 255, "file name length not bounded");
    require(name.find_first_of("/\\") == std::string::npos, "file name keeps a path");
    const auto json = http::upload_data("00000000-0000-4000-8000-000000000000", "u/x.pdf", f);
    rapidjson::Document d;
    d.Parse<rapidjson::kParseValidateEncodingFlag>(json.c_str(), json.size());
    require(!d.HasParseError() && d.IsObject(), "upload data is not a valid JSON object");
    require(!has_nul(d), "upload data holds a NUL character");
    res.status = 202;
  }
};

}  // namespace

void multipart(const uint8_t* data, size_t size) {
  static upload_server server;
  std::string body(reinterpret_cast<const char*>(data), size);
  std::string request = "POST /upload HTTP/1.1\r\nHost: fuzz\r\n"
                        "Content-Type: multipart/form-data; boundary=" +
                        std::string{boundary} + "\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  server.run(std::move(request));
}

}  // namespace jobserver::fuzz
