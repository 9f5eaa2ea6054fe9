// POST /upload/pdf-structured: the file is streamed to storage as it arrives (memory
// stays small whatever its size), checked (size, PDF magic bytes, course ownership),
// renamed into place, and its `upload_pdf` job is queued; the answer comes before any
// parsing. If the job cannot be queued the file is removed again.
#include <rapidjson/document.h>

#include "actors/node.hpp"
#include "config/log.hpp"
#include "http/content_routes.hpp"
#include "http/errors.hpp"
#include "http/request.hpp"
#include "http/upload_form.hpp"
#include "persistence/job.hpp"

namespace jobserver::http {

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
    std::unique_ptr<persistence::file_storage::upload> file;
    auto f = read_upload_form(req, reader, [&]() -> file_sink {
      file = node.files().begin(owner, limit);
      return [&](const char* data, size_t len) { return file->write(data, len) || !file->too_large(); };
    });
    if (f.too_many_parts) throw app_error(errc::invalid_input, "Too many form fields");
    if (!f.has_file) return send_error(res, 400, "Missing PDF file", "missing_file");
    if (file->too_large()) return too_large();
    if (!f.complete) throw app_error(errc::invalid_input, "The multipart body is malformed or cut off");
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
