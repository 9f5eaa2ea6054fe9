// Lessons: generate one (de-duplicated: a second request for the same section answers
// the same job), generate all sections of a document as one batch, read them.
#include "http/lesson_routes.hpp"

#include "actors/node.hpp"
#include "http/errors.hpp"
#include "http/json.hpp"
#include "http/request.hpp"
#include "persistence/job.hpp"

namespace jobserver::http {
namespace {

constexpr int click_priority = 5;  // a user's click
constexpr int batch_priority = 3;  // "generate all": behind clicks

std::string uuid_member(const rapidjson::Document& body, const char* key, bool required) {
  auto v = string_member(body, key, 64);
  if (v.empty()) {
    if (required) throw app_error(errc::invalid_input, std::string{key} + " is required");
    return v;
  }
  if (!persistence::is_uuid(v)) throw app_error(errc::invalid_input, std::string{key} + " must be a UUID");
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

persistence::new_job lesson_job(const std::string& owner, const std::string& document_id,
                                const std::string& section_id, bool check_ins, int priority) {
  persistence::new_job job;
  job.id = persistence::make_uuid();
  job.owner_id = owner;
  job.type = "generate_lesson";
  job.priority = priority;
  job.data = "{\"document_id\":\"" + document_id + "\",\"section_id\":" +
             (section_id.empty() ? std::string{"null"} : "\"" + section_id + "\"") +
             ",\"include_check_ins\":" + (check_ins ? "true" : "false") + "}";
  job.dedup_key = "lesson:" + owner + ":" + document_id + ":" + section_id;
  return job;
}

std::string id_of(const std::string& job_json) {
  rapidjson::Document d;
  d.Parse(job_json.c_str());
  return d.IsObject() && d.HasMember("id") ? d["id"].GetString() : "";
}

std::string status_of_job(const std::string& job_json) {
  rapidjson::Document d;
  d.Parse(job_json.c_str());
  return d.IsObject() && d.HasMember("status") ? d["status"].GetString() : "queued";
}

}  // namespace

void add_lesson_routes(router& r, actors::node& node, const authenticator& auth) {
  r.post("/lessons/generate", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto body = parse_json_object(req);
    auto document_id = uuid_member(body, "document_id", true);
    auto section_id = uuid_member(body, "section_id", false);
    bool check_ins = !(body.HasMember("include_check_ins") && body["include_check_ins"].IsBool() &&
                       !body["include_check_ins"].GetBool());
    if (!node.lessons().source(owner, document_id, section_id, false))
      return send_error(res, 404, section_id.empty() ? "Document not found" : "Section not found",
                        "not_found");
    if (auto lesson = node.lessons().id_for(owner, document_id, section_id))
      return send_json(res, 200, "{\"lesson_id\":\"" + *lesson +
                                     "\",\"status\":\"completed\",\"message\":\"Lesson already generated\"}");
    auto job = lesson_job(owner, document_id, section_id, check_ins, click_priority);
    auto answer = node.create_job(job);
    auto id = id_of(answer);
    if (id == job.id)
      return send_json(res, 202, "{\"job_id\":\"" + id +
                                     "\",\"status\":\"queued\",\"message\":\"Lesson generation queued\"}");
    send_json(res, 202, "{\"job_id\":\"" + id + "\",\"status\":\"" + status_of_job(answer) +
                            "\",\"message\":\"Lesson generation already in progress\"}");
  });

  r.post("/lessons/generate-all", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto body = parse_json_object(req);
    auto document_id = uuid_member(body, "document_id", true);
    if (!node.lessons().source(owner, document_id, "", false))
      return send_error(res, 404, "Document not found", "not_found");
    auto sections = node.lessons().sections_without_lesson(owner, document_id);
    if (sections.empty())
      return send_json(res, 200, "{\"job_id\":null,\"status\":\"completed\",\"children\":[],"
                                 "\"message\":\"Every section already has a lesson\"}");
    persistence::new_job parent;
    parent.id = persistence::make_uuid();
    parent.owner_id = owner;
    parent.type = "generate_lesson_batch";
    parent.priority = batch_priority;
    parent.data = "{\"document_id\":\"" + document_id + "\",\"sections\":" +
                  std::to_string(sections.size()) + "}";
    std::vector<persistence::new_job> jobs{parent};
    for (const auto& s : sections) {
      auto child = lesson_job(owner, document_id, s, true, batch_priority);
      child.parent_id = parent.id;
      jobs.push_back(std::move(child));
    }
    auto answers = node.create_jobs(jobs);
    std::string children;
    for (size_t i = 1; i < answers.size(); ++i) {
      if (i > 1) children += ',';
      children += "{\"section_id\":\"" + sections[i - 1] + "\",\"job_id\":\"" + id_of(answers[i]) + "\"}";
    }
    send_json(res, 202, "{\"job_id\":\"" + parent.id + "\",\"status\":\"queued\",\"children\":[" +
                            children + "],\"message\":\"Lesson generation queued for " +
                            std::to_string(sections.size()) + " section(s)\"}");
  });

  r.get("/lessons/([^/]+)", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto lesson = node.lessons().find(owner, path_uuid(req, 1, "lesson id"));
    if (!lesson) return send_error(res, 404, "Lesson not found", "not_found");
    send_json(res, 200, *lesson);
  });

  r.get("/lessons", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto section = req.get_param_value("section_id");
    if (section.empty()) throw app_error(errc::invalid_input, "section_id is required");
    if (!persistence::is_uuid(section)) throw app_error(errc::invalid_input, "section_id must be a UUID");
    for (auto& c : section) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto lesson = node.lessons().find_by_section(owner, section);
    if (!lesson) return send_error(res, 404, "Lesson not found", "not_found");
    send_json(res, 200, *lesson);
  });
}

}  // namespace jobserver::http
