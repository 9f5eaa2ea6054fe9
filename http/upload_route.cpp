// POST /upload/pdf-structured: the file is streamed to storage as it arrives (memory
// stays small whatever its size), checked (size, PDF magic bytes, course ownership),
// renamed into place, and its `upload_pdf` job is queued; the answer comes before any
// parsing. If the job cannot be queued the file is removed again.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "actors/node.hpp"
#include "config/log.hpp"
#include "http/content_routes.hpp"
#include "http/errors.hpp"
#include "http/request.hpp"
#include "persistence/job.hpp"

namespace jobserver::http {
namespace {

constexpr size_t max_field = 4096;

/// A form field as stored: control characters become spaces, trimmed, UTF-8 checked.
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

/// The client's file name, kept only as data: its last path component, cleaned.
std::string clean_filename(const std::string& raw) {
  auto slash = raw.find_last_of("/\\");
  std::string name = slash == std::string::npos ? raw : raw.substr(slash + 1);
  for (auto& c : name)
    if (static_cast<unsigned char>(c) < 0x20) c = '_';
  if (name.size() > 255) name.resize(255);
  if (name.empty() || !is_valid_utf8(name)) name = "upload.pdf";
  return name;
}

struct form {
  std::map<std::string, std::string> fields;
  std::string filename;
  bool has_file = false;
  bool too_many_parts = false;
};

std::string upload_data(const std::string& document_id, const std::string& storage_path,
                        const form& f) {
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

}  // namespace

void add_upload_route(router& r, actors::node& node, const authenticator& auth) {
  r.post_stream("/upload/pdf-structured", [&](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
    auto owner = owner_of(auth, req);
    size_t limit = static_cast<size_t>(node.settings().max_upload_mb) * 1024 * 1024;
    auto too_large = [&] {
      res.set_header("Connection", "close");  // the rest of the body is never read
      send_error(res, 413, "File too large (the limit is " +
                               std::to_string(node.settings().max_upload_mb) + " MB)", "too_large");
    };
    if (req.has_header("Content-Length") &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > limit + 65536)
      return too_large();
    if (!req.is_multipart_form_data()) {
      reader([](const char*, size_t) { return true; });
      return send_error(res, 400, "Missing PDF file", "missing_file");
    }
    form f;
    std::unique_ptr<persistence::file_storage::upload> file;
    std::string* field = nullptr;
    bool in_file = false;
    int parts = 0;
    reader(
        [&](const httplib::MultipartFormData& part) {
          if (++parts > 32) {
            f.too_many_parts = true;
            return false;
          }
          in_file = part.name == "file" && !f.has_file;
          field = nullptr;
          if (in_file) {
            f.has_file = true;
            f.filename = part.filename;
            file = node.files().begin(owner, limit);
          } else {
            field = &f.fields[part.name.substr(0, 64)];
          }
          return true;
        },
        [&](const char* data, size_t len) {
          if (in_file) return file->write(data, len) || !file->too_large();
          if (field != nullptr && field->size() + len <= max_field) field->append(data, len);
          return true;
        });
    if (f.too_many_parts) throw app_error(errc::invalid_input, "Too many form fields");
    if (!f.has_file) return send_error(res, 400, "Missing PDF file", "missing_file");
    if (file->too_large()) return too_large();
    if (file->size() == 0) return send_error(res, 400, "The file is empty", "empty_file");
    if (!persistence::looks_like_pdf(file->head()))
      return send_error(res, 415, "Not a PDF file", "unsupported_media_type");
    auto course_id = f.fields.count("course_id") ? clean_field(f.fields["course_id"], "course_id") : "";
    if (!course_id.empty()) {
      if (!persistence::is_uuid(course_id)) throw app_error(errc::invalid_input, "course_id must be a UUID");
      for (auto& c : course_id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      f.fields["course_id"] = course_id;
      if (!node.find_course(owner, course_id)) return send_error(res, 404, "Course not found", "not_found");
    }
    auto document_id = persistence::make_uuid();
    auto relative = node.files().relative_path(owner, document_id);
    auto data = upload_data(document_id, relative, f);  // validates the fields
    file->commit(node.files().absolute(relative));
    std::string job_json;
    try {
      job_json = node.create_upload(owner, data);
    } catch (...) {
      node.files().remove(relative);
      throw;
    }
    rapidjson::Document job;
    job.Parse(job_json.c_str());
    send_json(res, 202, std::string{"{\"job_id\":\""} + job["id"].GetString() +
                            "\",\"document_id\":\"" + document_id +
                            "\",\"status\":\"queued\",\"message\":\"Upload queued for processing\"}");
  });
}

}  // namespace jobserver::http
