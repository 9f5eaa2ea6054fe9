#pragma once

#include <httplib.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "tests/support/server_process.hpp"

namespace jobserver::testing {

/// A parsed HTTP answer.
struct answer {
  int status = 0;
  rapidjson::Document body;
  std::string raw;
};

answer call(httplib::Client& c, const std::string& method, const std::string& path,
            const std::string& body = {}, const std::string& user = "user-a");

/// Creates a test job (`POST /jobs`); returns its id (REQUIREs 202).
std::string create_job(httplib::Client& c, const std::string& type, const std::string& data = "{}",
                       const std::string& user = "user-a", int priority = 5);

/// The job as `GET /jobs/:id` returns it (REQUIREs 200).
answer get_job(httplib::Client& c, const std::string& id, const std::string& user = "user-a");

/// Waits until the job's status is `status` (REQUIREs it within `timeout`).
answer wait_for_status(httplib::Client& c, const std::string& id, const std::string& status,
                       const std::string& user = "user-a",
                       std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// The value of one metric line of `/metrics` text (name and labels exactly as
/// rendered); -1 when absent.
double metric(const std::string& text, const std::string& series);

/// The row count of `jobs` in the fixture's schema (all owners).
long count_jobs(service_fixture& f);

/// `SELECT <expr> FROM jobs WHERE id = $1` as text, all owners.
std::string job_column(service_fixture& f, const std::string& id, const std::string& expr);

/// A STORAGE_DIR of its own under /tmp for one test, removed with its files at the end.
struct temp_storage {
  temp_storage();
  ~temp_storage();
  temp_storage(const temp_storage&) = delete;
  temp_storage& operator=(const temp_storage&) = delete;
  std::string path;
};

/// A raw TCP connection to 127.0.0.1:port with 30 s send/receive timeouts; -1 on failure.
int connect_to(int port);

/// Sends all of `data` on a raw socket (stops quietly when the server closes early).
void send_all(int fd, const char* data, size_t len);

/// Runs a shell command from the source tree (e.g. scripts/services.sh stop-redis).
int run_script(const std::string& command);

}  // namespace jobserver::testing
