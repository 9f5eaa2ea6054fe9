// The bodies of the /jobs routes, parsed apart from the routes so that the fuzz targets
// (tests/fuzz) exercise exactly what the server runs.
#include "http/job_bodies.hpp"

#include <algorithm>
#include <cctype>

#include "config/errors.hpp"
#include "http/json.hpp"
#include "http/request.hpp"

namespace jobserver::http {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::vector<std::string> poll_ids(const rapidjson::Document& body) {
  if (!body.HasMember("job_ids") || !body["job_ids"].IsArray())
    throw app_error(errc::invalid_input, "job_ids array is required");
  const auto& arr = body["job_ids"];
  if (arr.Size() > max_poll_ids)
    throw app_error(errc::invalid_input, "At most 100 job_ids per request");
  std::vector<std::string> ids;
  for (const auto& v : arr.GetArray()) {
    if (!v.IsString()) throw app_error(errc::invalid_input, "job_ids must be strings");
    std::string id{v.GetString(), v.GetStringLength()};
    if (!persistence::is_uuid(id)) throw app_error(errc::invalid_input, "job_ids must be UUIDs");
    id = lower(std::move(id));
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
  }
  return ids;
}

persistence::new_job test_job(const rapidjson::Document& body, const std::string& owner) {
  persistence::new_job job;
  job.owner_id = owner;
  job.type = string_member(body, "type", 64);
  if (job.type.empty()) throw app_error(errc::invalid_input, "type is required");
  if (body.HasMember("data")) {
    if (!body["data"].IsObject()) throw app_error(errc::invalid_input, "data must be an object");
    job.data = to_json(body["data"]);
  }
  if (body.HasMember("priority")) {
    if (!body["priority"].IsInt()) throw app_error(errc::invalid_input, "priority must be an integer");
    job.priority = std::clamp(body["priority"].GetInt(), 0, 9);
  }
  return job;
}

}  // namespace jobserver::http
