#include "http/job_routes.hpp"

#include <algorithm>
#include <cctype>

#include "actors/node.hpp"
#include "http/errors.hpp"
#include "http/job_bodies.hpp"
#include "http/json.hpp"
#include "http/request.hpp"
#include "persistence/job.hpp"

namespace jobserver::http {
namespace {

constexpr const char* id_pattern = "/jobs/([^/]+)";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// `{"jobs":[...]}` from stored job JSON documents.
std::string jobs_body(const std::vector<std::string>& jobs, const std::string& extra = {}) {
  std::string out = "{\"jobs\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i != 0) out += ',';
    out += jobs[i];
  }
  out += ']';
  out += extra;
  out += '}';
  return out;
}

int int_param(const httplib::Request& req, const char* name, int fallback, int lo, int hi) {
  if (!req.has_param(name)) return fallback;
  auto v = req.get_param_value(name);
  if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), ::isdigit))
    throw app_error(errc::invalid_input, std::string{name} + " must be a number");
  return std::clamp(std::stoi(v), lo, hi);
}

persistence::job_filter history_filter(const httplib::Request& req) {
  persistence::job_filter f;
  f.type = req.get_param_value("type");
  f.status = req.get_param_value("status");
  static const std::vector<std::string> statuses = {"", "queued", "processing", "completed", "failed"};
  if (std::find(statuses.begin(), statuses.end(), f.status) == statuses.end())
    throw app_error(errc::invalid_input, "status must be queued, processing, completed or failed");
  if (f.type.size() > 64) throw app_error(errc::invalid_input, "type is too long");
  f.limit = int_param(req, "limit", 50, 1, 200);
  f.before = req.get_param_value("before");
  if (!f.before.empty()) {
    if (!persistence::is_uuid(f.before)) throw app_error(errc::invalid_input, "before must be a job id");
    f.before = lower(f.before);
  }
  return f;
}

}  // namespace

void add_job_routes(router& r, actors::node& node, const authenticator& auth) {
  r.get(id_pattern, [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto id = path_uuid(req, 1, "job id");
    auto json = node.job_json(owner, id);
    if (!json) return send_error(res, 404, "Job not found", "not_found");
    send_json(res, 200, std::move(*json));
  });

  r.post("/jobs/poll", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto ids = poll_ids(parse_json_object(req));
    send_json(res, 200, jobs_body(node.jobs_json(owner, ids)));
  });

  r.get("/jobs", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    auto filter = history_filter(req);
    auto jobs = node.history(owner, filter);
    std::string next = ",\"next_before\":null";
    if (static_cast<int>(jobs.size()) == filter.limit) {
      rapidjson::Document last;
      last.Parse(jobs.back().c_str());
      if (last.IsObject() && last.HasMember("id") && last["id"].IsString())
        next = ",\"next_before\":\"" + std::string{last["id"].GetString()} + "\"";
    }
    send_json(res, 200, jobs_body(jobs, next));
  });

  r.post("/jobs/([^/]+)/cancel", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    send_json(res, 200, node.cancel(owner, path_uuid(req, 1, "job id")));
  });

  r.post("/jobs/([^/]+)/retry", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    send_json(res, 202, node.retry(owner, path_uuid(req, 1, "job id")));
  });

  r.post("/jobs", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    if (!node.settings().enable_test_jobs)
      return send_error(res, 404, "Not found", "not_found");
    auto job = test_job(parse_json_object(req), owner);
    if (!node.accepts_type(job.type))
      throw app_error(errc::invalid_input, "Unknown job type (test types: noop, sleep, fail)");
    auto json = node.create_job(std::move(job));
    rapidjson::Document d;
    d.Parse(json.c_str());
    std::string id = d.HasMember("id") ? d["id"].GetString() : "";
    send_json(res, 202,
              "{\"job_id\":\"" + id + "\",\"status\":\"queued\",\"message\":\"Job queued\",\"job\":" +
                  json + "}");
  });
}

}  // namespace jobserver::http
