#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "persistence/job.hpp"

namespace jobserver::http {

/// Most ids one `POST /jobs/poll` may ask for.
constexpr size_t max_poll_ids = 100;

/// The ids of a `POST /jobs/poll` body (`{"job_ids":[...]}`): UUIDs, lower-cased, without
/// duplicates, at most max_poll_ids. Throws invalid_input otherwise.
std::vector<std::string> poll_ids(const rapidjson::Document& body);

/// The job of a `POST /jobs` body (the built-in test types): `type` required (64 chars
/// at most), `data` an object, `priority` an integer clamped to 0-9. Throws invalid_input.
persistence::new_job test_job(const rapidjson::Document& body, const std::string& owner);

}  // namespace jobserver::http
