#include "http/content_routes.hpp"

#include "actors/node.hpp"
#include "http/errors.hpp"
#include "http/json.hpp"
#include "http/request.hpp"
#include "persistence/job.hpp"

namespace jobserver::http {
namespace {

/// YYYY-MM-DD, or "".
bool valid_date(const std::string& s) {
  if (s.empty()) return true;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  int month = std::stoi(s.substr(5, 2)), day = std::stoi(s.substr(8, 2));
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

persistence::course_input course_from(const rapidjson::Document& body) {
  persistence::course_input in;
  in.name = string_member(body, "name", 200);
  if (in.name.empty()) throw app_error(errc::invalid_input, "name is required");
  in.code = string_member(body, "code", 50);
  in.term = string_member(body, "term", 50);
  in.exam_date = string_member(body, "exam_date", 10);
  if (!valid_date(in.exam_date)) throw app_error(errc::invalid_input, "exam_date must be YYYY-MM-DD");
  return in;
}

/// An optional UUID query parameter, lower-cased; "" when absent.
std::string uuid_param(const httplib::Request& req, const char* name) {
  auto v = req.get_param_value(name);
  if (v.empty()) return v;
  if (!persistence::is_uuid(v)) throw app_error(errc::invalid_input, std::string{name} + " must be a UUID");
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

void found_or_404(httplib::Response& res, const std::optional<std::string>& json, const char* what) {
  if (!json) return send_error(res, 404, std::string{what} + " not found", "not_found");
  send_json(res, 200, *json);
}

}  // namespace

void add_content_routes(router& r, actors::node& node, const authenticator& auth) {
  r.post("/courses", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    send_json(res, 201, node.create_course(owner, course_from(parse_json_object(req))));
  });
  r.get("/courses", [&](const httplib::Request& req, httplib::Response& res) {
    send_json(res, 200, "{\"courses\":" + node.list_courses(owner_of(auth, req)) + "}");
  });
  r.get("/courses/([^/]+)", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    found_or_404(res, node.find_course(owner, path_uuid(req, 1, "course id")), "Course");
  });
  r.del("/courses/([^/]+)", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    if (!node.delete_course(owner, path_uuid(req, 1, "course id")))
      return send_error(res, 404, "Course not found", "not_found");
    send_json(res, 200, "{\"deleted\":true}");
  });
  r.get("/documents", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto course = uuid_param(req, "course_id");
    send_json(res, 200, "{\"documents\":" + node.list_documents(owner, course) + "}");
  });
  r.get("/documents/([^/]+)", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    found_or_404(res, node.find_document(owner, path_uuid(req, 1, "document id")), "Document");
  });
  r.del("/documents/([^/]+)", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    if (!node.delete_document(owner, path_uuid(req, 1, "document id")))
      return send_error(res, 404, "Document not found", "not_found");
    send_json(res, 200, "{\"deleted\":true}");
  });
  r.get("/sections", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto doc = uuid_param(req, "document_id");
    if (doc.empty()) throw app_error(errc::invalid_input, "document_id is required");
    auto sections = node.list_sections(owner, doc);
    if (!sections) return send_error(res, 404, "Document not found", "not_found");
    send_json(res, 200, "{\"sections\":" + *sections + "}");
  });
}

}  // namespace jobserver::http
