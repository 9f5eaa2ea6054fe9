// The multipart part of POST /upload/pdf-structured, apart from the route so that the
// fuzz target (tests/fuzz) drives exactly this code through cpp-httplib's request reader.
#include "http/upload_form.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <vector>

#include "config/errors.hpp"
#include "http/multipart.hpp"
#include "http/request.hpp"

namespace jobserver::http {
namespace {

constexpr size_t max_field = 4096;
constexpr size_t max_field_name = 64;
constexpr int max_parts = 32;

}  // namespace

namespace {

/// cpp-httplib 0.11 sends every multipart/form-data body through its own parser, which
/// copies and scans byte by byte (about 200 MB/s here). While the body is read, the
/// request's Content-Type is shown to it as application/octet-stream so that the raw bytes
/// come through, and restored afterwards. (The handler's `const Request&` refers to the
/// server's own, non-const request object.)
class raw_body_view {
 public:
  explicit raw_body_view(const httplib::Request& req) : req_(const_cast<httplib::Request&>(req)) {
    auto range = req_.headers.equal_range("Content-Type");
    for (auto i = range.first; i != range.second; ++i) saved_.push_back(i->second);
    req_.headers.erase("Content-Type");
    req_.headers.emplace("Content-Type", "application/octet-stream");
  }
  ~raw_body_view() {
    req_.headers.erase("Content-Type");
    for (auto& v : saved_) req_.headers.emplace("Content-Type", v);
  }
  raw_body_view(const raw_body_view&) = delete;
  raw_body_view& operator=(const raw_body_view&) = delete;

 private:
  httplib::Request& req_;
  std::vector<std::string> saved_;
};

}  // namespace

upload_form read_upload_form(const httplib::Request& req, const httplib::ContentReader& reader,
                             const std::function<file_sink()>& open_file) {
  upload_form f;
  file_sink file;
  std::string* field = nullptr;
  bool in_file = false;
  bool file_refused = false;
  int parts = 0;
  const std::string boundary = multipart_parser::boundary_of(req.get_header_value("Content-Type"));
  multipart_parser parser{
      boundary,
      [&](const multipart_parser::part& part) {
        if (++parts > max_parts) {
          f.too_many_parts = true;
          return false;
        }
        in_file = part.name == "file" && !f.has_file;
        field = nullptr;
        if (in_file) {
          f.has_file = true;
          f.filename = part.filename;
          file = open_file();
        } else {
          field = &f.fields[part.name.substr(0, max_field_name)];
        }
        return true;
      },
      [&](const char* data, size_t len) {
        if (in_file) {
          file_refused = !file(data, len);
          return !file_refused;
        }
        if (field != nullptr && field->size() + len <= max_field) field->append(data, len);
        return true;
      }};
  raw_body_view raw{req};
  reader([&](const char* data, size_t len) {
    if (boundary.empty()) return true;  // nothing to find in it: read and drop
    if (parser.feed(data, len)) return true;
    // A refused file (too large) stops the reading; the answer closes the connection. Any
    // other stop reads the rest and drops it, so it is never taken for the next request.
    return !file_refused;
  });
  f.complete = parser.complete();
  return f;
}

std::string clean_field(std::string v, const char* name) {
  for (auto& c : v)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  auto b = v.find_first_not_of(' ');
  auto e = v.find_last_not_of(' ');
  v = b == std::string::npos ? std::string{} : v.substr(b, e - b + 1);
  if (!is_valid_utf8(v)) throw app_error(errc::invalid_input, std::string{name} + " is not valid UTF-8");
  if (v.size() > 500) throw app_error(errc::invalid_input, std::string{name} + " is too long");
  return v;
}

std::string clean_filename(const std::string& raw) {
  auto slash = raw.find_last_of("/\\");
  std::string name = slash == std::string::npos ? raw : raw.substr(slash + 1);
  for (auto& c : name)
    if (static_cast<unsigned char>(c) < 0x20) c = '_';
  if (name.size() > 255) name.resize(255);
  if (name.empty() || !is_valid_utf8(name)) name = "upload.pdf";
  return name;
}

std::string upload_data(const std::string& document_id, const std::string& storage_path,
                        const upload_form& f) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto get = [&](const char* k) {
    auto i = f.fields.find(k);
    return i == f.fields.end() ? std::string{} : clean_field(i->second, k);
  };
  w.StartObject();
  str("document_id", document_id);
  str("course_id", get("course_id"));
  str("title", get("title"));
  str("chapter", get("chapter"));
  str("material_type", get("material_type"));
  str("original_filename", clean_filename(f.filename));
  str("storage_path", storage_path);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace jobserver::http
