#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace jobserver::config {

/// Retry policy of one job type: attempts in all, and the first backoff delay.
struct retry_policy {
  int max_attempts = 3;
  int backoff_ms = 2000;
};

/// Every setting of the server, with its default. Overridden, in this order, by an INI
/// file (`--config FILE`), environment variables, and command-line flags.
struct settings {
  // Storage services.
  std::string database_url = "postgresql://jobserver:jobserver@127.0.0.1:54329/jobserver";
  std::string redis_url = "redis://127.0.0.1:63799/0";
  std::string redis_prefix = "jobserver";
  int db_pool_size = 8;

  // HTTP front end.
  int http_port = 8080;  // 0 = no HTTP (worker-only node)
  std::string bind = "127.0.0.1";
  int http_threads = 128;
  int sse_heartbeat_ms = 15000;  // comment line on idle event streams
  int sse_max_streams = 10000;   // open event streams per node (each holds a thread)
  int status_memory_entries = 50000;  // job statuses kept in memory for reads (0 = off)

  // Auth.
  std::string auth_mode = "dev";  // dev | jwt
  std::string auth_jwt_secret;
  std::string auth_jwt_jwks;
  std::string auth_jwt_issuer;
  std::string auth_jwt_audience;
  bool allow_dev_auth_on_network = false;

  // Files.
  std::string storage_dir = ".run/storage";
  int max_upload_mb = 50;
  int max_pdf_pages = 2000;

  // LLM.
  std::string llm_provider = "offline";  // offline | gemini | openai
  std::string llm_base_url;
  std::string llm_model;
  std::string gemini_api_key;
  std::string openai_api_key;
  int llm_connect_timeout_ms = 5000;
  int llm_timeout_ms = 120000;       // a whole answer
  int llm_stall_timeout_ms = 30000;  // a streamed answer that receives nothing this long
  int llm_max_retries = 4;           // HTTP retries on 429 / 5xx / network errors

  // Queue and jobs.
  int upload_concurrency = 3;
  int lesson_concurrency = 2;
  int batch_concurrency = 16;  // generate_lesson_batch: it only waits for its children
  int test_job_concurrency = 8;
  int per_user_concurrency = 2;
  int processor_nice = 10;  // CPU priority of processor threads (0 = as the server)
  retry_policy upload_retry{3, 2000};
  retry_policy lesson_retry{2, 5000};
  retry_policy test_retry{3, 200};
  int lease_ms = 10000;
  int max_stalls = 2;
  bool enable_test_jobs = false;

  // Retention and housekeeping.
  int job_retention_hours = 24;
  int cleanup_interval_minutes = 60;
  int reconcile_interval_seconds = 30;

  // Node.
  std::string node_id;  // empty: host name + port

  // Clustering (CAF middleman). CLUSTER_PORT 0 = a single node.
  int cluster_port = 0;
  std::string cluster_bind = "127.0.0.1";
  std::string cluster_seeds;  // host:port,...
  int cluster_heartbeat_ms = 500;
  int cluster_timeout_ms = 3000;
  int shutdown_grace_seconds = 30;
  bool migrate_on_start = true;
  std::string log_level = "info";

  /// The command after the flags: "serve" (default) or "migrate".
  std::string command = "serve";
};

/// The result of reading settings: either settings, or one line saying what is wrong,
/// or a help text that the caller prints before exiting 0.
struct load_result {
  std::optional<settings> values;
  std::string error;
  std::string help;
};

/// Reads defaults, then `--config FILE` (INI), then `env`, then `args` (argv without
/// the program name). Validates every value; never includes a secret in `error`.
load_result load_settings(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env);

/// The process environment as a map.
std::map<std::string, std::string> process_environment();

/// The help text: every setting with its flag, env var and default (secrets masked).
std::string help_text();

/// `url` with any password replaced by `***`, safe to log.
std::string redact_url(const std::string& url);

/// `host:port,host:port` as pairs; nullopt when an entry is malformed. Empty → none.
std::optional<std::vector<std::pair<std::string, int>>> parse_seeds(const std::string& list);

/// The node id: the setting, or host name + ":" + HTTP port.
std::string effective_node_id(const settings& s);

}  // namespace jobserver::config
