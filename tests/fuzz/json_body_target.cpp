#include <httplib.h>

#include <algorithm>

#include "http/job_bodies.hpp"
#include "http/json.hpp"
#include "http/request.hpp"
#include "tests/fuzz/targets.hpp"

namespace jobserver::fuzz {

void json_body(const uint8_t* data, size_t size) {
  static const char* const types[] = {"application/json", "", "text/plain",
                                      "application/json; charset=utf-8"};
  httplib::Request req;
  if (size > 0) {
    req.set_header("Content-Type", types[data[0] % 4]);
    req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  }
  rapidjson::Document body;
  try {
    body = http::parse_json_object(req);
  } catch (const app_error& e) {
    return expect_code(e, {errc::invalid_input, errc::unsupported, errc::too_large});
  }
  require(body.IsObject(), "parse_json_object answered a non-object");
  // What is accepted can be stored as JSONB: valid UTF-8 and no NUL once serialised.
  const auto text = http::to_json(body);
  require(http::is_valid_utf8(text), "accepted body serialises to invalid UTF-8");
  require(!has_nul(body), "accepted body holds a NUL character");

  try {
    auto ids = http::poll_ids(body);
    require(ids.size() <= http::max_poll_ids, "poll accepted too many ids");
    for (const auto& id : ids) {
      require(persistence::is_uuid(id), "poll accepted a non-UUID");
      require(std::none_of(id.begin(), id.end(), [](char c) { return c >= 'A' && c <= 'F'; }),
              "poll id not lower-cased");
      require(std::count(ids.begin(), ids.end(), id) == 1, "poll ids not de-duplicated");
    }
  } catch (const app_error& e) {
    expect_code(e, {errc::invalid_input});
  }

  try {
    auto job = http::test_job(body, "fuzz-user");
    require(!job.type.empty() && job.type.size() <= 64, "job type length not checked");
    require(job.priority >= 0 && job.priority <= 9, "priority not clamped");
    rapidjson::Document d;
    d.Parse(job.data.c_str(), job.data.size());
    require(!d.HasParseError() && d.IsObject(), "job data is not a JSON object");
  } catch (const app_error& e) {
    expect_code(e, {errc::invalid_input});
  }

  for (const char* key : {"name", "document_id", "section_id", "exam_date"}) {
    try {
      auto v = http::string_member(body, key, 200);
      require(v.size() <= 200, "string_member returned a string over its limit");
    } catch (const app_error& e) {
      expect_code(e, {errc::invalid_input});
    }
  }
}

}  // namespace jobserver::fuzz
