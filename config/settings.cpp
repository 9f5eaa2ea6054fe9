#include "config/settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

extern char** environ;

namespace jobserver::config {
namespace {

enum class kind { text, integer, boolean, choice };

/// One setting: its env var name (also the INI key, lower-cased, and the CLI flag,
/// lower-cased with dashes), its help, and how to store a value.
struct option {
  std::string env;
  std::string help;
  kind type = kind::text;
  bool secret = false;
  long min = 0;
  long max = 0;
  std::vector<std::string> choices;
  std::function<std::string(const settings&)> get;
  std::function<void(settings&, const std::string&)> set;
};

option base_opt(std::string env, std::string help, kind type) {
  option o;
  o.env = std::move(env);
  o.help = std::move(help);
  o.type = type;
  return o;
}

option text_opt(std::string env, std::string help, std::string settings::*m,
                bool secret = false) {
  auto o = base_opt(std::move(env), std::move(help), kind::text);
  o.secret = secret;
  o.get = [m](const settings& s) { return s.*m; };
  o.set = [m](settings& s, const std::string& v) { s.*m = v; };
  return o;
}

option choice_opt(std::string env, std::string help, std::string settings::*m,
                  std::vector<std::string> choices) {
  auto o = text_opt(std::move(env), std::move(help), m);
  o.type = kind::choice;
  o.choices = std::move(choices);
  return o;
}

option int_opt(std::string env, std::string help, int settings::*m, long min, long max) {
  auto o = base_opt(std::move(env), std::move(help), kind::integer);
  o.min = min;
  o.max = max;
  o.get = [m](const settings& s) { return std::to_string(s.*m); };
  o.set = [m](settings& s, const std::string& v) { s.*m = std::stoi(v); };
  return o;
}

option retry_opt(std::string env, std::string help, retry_policy settings::*m,
                 int retry_policy::*field, long min, long max) {
  auto o = base_opt(std::move(env), std::move(help), kind::integer);
  o.min = min;
  o.max = max;
  o.get = [m, field](const settings& s) { return std::to_string((s.*m).*field); };
  o.set = [m, field](settings& s, const std::string& v) { (s.*m).*field = std::stoi(v); };
  return o;
}

option bool_opt(std::string env, std::string help, bool settings::*m) {
  auto o = base_opt(std::move(env), std::move(help), kind::boolean);
  o.get = [m](const settings& s) { return std::string{s.*m ? "true" : "false"}; };
  o.set = [m](settings& s, const std::string& v) {
    s.*m = (v == "1" || v == "true" || v == "yes" || v == "on");
  };
  return o;
}

const std::vector<option>& options() {
  using s = settings;
  using r = retry_policy;
  static const std::vector<option> all = {
      text_opt("DATABASE_URL", "Postgres connection URL", &s::database_url),
      text_opt("REDIS_URL", "Redis URL (redis://[:password@]host:port/db)", &s::redis_url),
      text_opt("REDIS_PREFIX", "prefix of every Redis key", &s::redis_prefix),
      int_opt("DB_POOL_SIZE", "Postgres connections per node", &s::db_pool_size, 1, 256),
      int_opt("HTTP_PORT", "HTTP port (0 = no HTTP, worker-only node)", &s::http_port, 0, 65535),
      text_opt("BIND", "HTTP bind address", &s::bind),
      int_opt("HTTP_THREADS", "HTTP worker threads (one per open connection)",
              &s::http_threads, 4, 4096),
      int_opt("SSE_HEARTBEAT_MS", "heartbeat comment interval of idle event streams",
              &s::sse_heartbeat_ms, 10, 3600000),
      int_opt("SSE_MAX_STREAMS", "open event streams per node (beyond: 503)",
              &s::sse_max_streams, 1, 100000),
      int_opt("STATUS_MEMORY_ENTRIES",
              "job statuses kept in memory for GET /jobs/:id and polls, kept current by "
              "Redis key tracking (0 = off)",
              &s::status_memory_entries, 0, 10000000),
      choice_opt("AUTH_MODE", "dev (X-User-ID header) or jwt (Bearer token)", &s::auth_mode,
                 {"dev", "jwt"}),
      text_opt("AUTH_JWT_SECRET", "HS256 secret for AUTH_MODE=jwt", &s::auth_jwt_secret, true),
      text_opt("AUTH_JWT_JWKS", "RS256 JWKS file path or URL for AUTH_MODE=jwt",
               &s::auth_jwt_jwks),
      text_opt("AUTH_JWT_ISSUER", "required `iss` claim (empty = not checked)",
               &s::auth_jwt_issuer),
      text_opt("AUTH_JWT_AUDIENCE", "required `aud` claim (empty = not checked)",
               &s::auth_jwt_audience),
      bool_opt("ALLOW_DEV_AUTH_ON_NETWORK", "allow AUTH_MODE=dev on a non-loopback BIND",
               &s::allow_dev_auth_on_network),
      text_opt("STORAGE_DIR", "directory for uploaded PDFs", &s::storage_dir),
      int_opt("MAX_UPLOAD_MB", "largest accepted upload in MB", &s::max_upload_mb, 1, 4096),
      int_opt("MAX_PDF_PAGES", "most pages a PDF may have", &s::max_pdf_pages, 1, 1000000),
      choice_opt("LLM_PROVIDER", "offline, gemini or openai", &s::llm_provider,
                 {"offline", "gemini", "openai"}),
      text_opt("LLM_BASE_URL", "base URL of the LLM API", &s::llm_base_url),
      text_opt("LLM_MODEL", "model name for the LLM provider", &s::llm_model),
      text_opt("GEMINI_API_KEY", "API key for LLM_PROVIDER=gemini", &s::gemini_api_key, true),
      text_opt("OPENAI_API_KEY", "API key for LLM_PROVIDER=openai", &s::openai_api_key, true),
      int_opt("LLM_CONNECT_TIMEOUT_MS", "LLM connect timeout", &s::llm_connect_timeout_ms, 100,
              600000),
      int_opt("LLM_TIMEOUT_MS", "LLM answer timeout (whole answer)", &s::llm_timeout_ms, 1000,
              3600000),
      int_opt("LLM_STALL_TIMEOUT_MS", "a streamed LLM answer silent this long is retried",
              &s::llm_stall_timeout_ms, 1000, 3600000),
      int_opt("LLM_MAX_RETRIES", "LLM HTTP retries on 429, 5xx and network errors",
              &s::llm_max_retries, 0, 20),
      int_opt("UPLOAD_CONCURRENCY", "upload_pdf jobs run at once on this node",
              &s::upload_concurrency, 0, 1024),
      int_opt("LESSON_CONCURRENCY", "generate_lesson jobs run at once on this node",
              &s::lesson_concurrency, 0, 1024),
      int_opt("BATCH_CONCURRENCY", "generate_lesson_batch jobs (they wait for their children)",
              &s::batch_concurrency, 0, 4096),
      int_opt("TEST_JOB_CONCURRENCY", "noop/sleep/fail jobs run at once on this node",
              &s::test_job_concurrency, 0, 4096),
      int_opt("PROCESSOR_NICE",
              "nice value of the threads that run processors (PDF parsing, LLM calls), so "
              "that requests are answered first when the CPUs are busy (0 = no change)",
              &s::processor_nice, 0, 19),
      int_opt("PER_USER_CONCURRENCY", "running jobs per user per type (cluster-wide)",
              &s::per_user_concurrency, 1, 1024),
      retry_opt("UPLOAD_MAX_ATTEMPTS", "attempts of an upload_pdf job", &s::upload_retry,
                &r::max_attempts, 1, 100),
      retry_opt("UPLOAD_BACKOFF_MS", "first retry delay of upload_pdf", &s::upload_retry,
                &r::backoff_ms, 0, 3600000),
      retry_opt("LESSON_MAX_ATTEMPTS", "attempts of a generate_lesson job", &s::lesson_retry,
                &r::max_attempts, 1, 100),
      retry_opt("LESSON_BACKOFF_MS", "first retry delay of generate_lesson", &s::lesson_retry,
                &r::backoff_ms, 0, 3600000),
      retry_opt("TEST_MAX_ATTEMPTS", "attempts of a test job", &s::test_retry,
                &r::max_attempts, 1, 100),
      retry_opt("TEST_BACKOFF_MS", "first retry delay of a test job", &s::test_retry,
                &r::backoff_ms, 0, 3600000),
      int_opt("LEASE_MS", "job lease length; an unrenewed lease is taken over", &s::lease_ms,
              500, 3600000),
      int_opt("MAX_STALLS", "lease expiries before a job fails", &s::max_stalls, 0, 100),
      bool_opt("ENABLE_TEST_JOBS", "allow POST /jobs with noop/sleep/fail (tests, benchmarks)",
               &s::enable_test_jobs),
      int_opt("JOB_RETENTION_HOURS", "finished jobs are deleted after this many hours",
              &s::job_retention_hours, 1, 87600),
      int_opt("CLEANUP_INTERVAL_MINUTES", "how often retention runs", &s::cleanup_interval_minutes,
              1, 10080),
      int_opt("RECONCILE_INTERVAL_SECONDS", "how often Postgres and Redis are reconciled",
              &s::reconcile_interval_seconds, 1, 86400),
      text_opt("NODE_ID", "this node's id (default: host name:HTTP port)", &s::node_id),
      int_opt("CLUSTER_PORT", "CAF port this node publishes on (0 = no clustering)",
              &s::cluster_port, 0, 65535),
      text_opt("CLUSTER_BIND", "address the cluster port binds to and is reached at",
               &s::cluster_bind),
      text_opt("CLUSTER_SEEDS", "host:port,... of nodes to join (others are learned from them)",
               &s::cluster_seeds),
      int_opt("CLUSTER_HEARTBEAT_MS", "heartbeat between cluster nodes", &s::cluster_heartbeat_ms,
              50, 60000),
      int_opt("CLUSTER_TIMEOUT_MS", "a node silent this long is taken as down (its jobs move)",
              &s::cluster_timeout_ms, 200, 600000),
      int_opt("SHUTDOWN_GRACE_SECONDS", "how long running jobs may finish at SIGTERM",
              &s::shutdown_grace_seconds, 0, 3600),
      bool_opt("MIGRATE_ON_START", "apply migrations at start (--no-migrate: false)",
               &s::migrate_on_start),
      choice_opt("LOG_LEVEL", "debug, info, warn or error", &s::log_level,
                 {"debug", "info", "warn", "error"}),
  };
  return all;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string flag_of(const option& o) {
  auto f = lower(o.env);
  std::replace(f.begin(), f.end(), '_', '-');
  return "--" + f;
}

const option* find_option(const std::string& name) {
  auto key = lower(name);
  std::replace(key.begin(), key.end(), '-', '_');
  for (const auto& o : options())
    if (lower(o.env) == key) return &o;
  return nullptr;
}

/// Checks and stores one value; returns an error line or "".
std::string apply(settings& s, const option& o, const std::string& raw,
                  const std::string& source) {
  auto v = trim(raw);
  auto bad = [&](const std::string& why) {
    return "invalid " + o.env + " (from " + source + "): " + why;
  };
  switch (o.type) {
    case kind::integer: {
      if (v.empty() || v.size() > 12) return bad("expected an integer");
      char* end = nullptr;
      errno = 0;
      long n = std::strtol(v.c_str(), &end, 10);
      if (errno != 0 || *end != '\0') return bad("expected an integer");
      if (n < o.min || n > o.max)
        return bad("must be between " + std::to_string(o.min) + " and " + std::to_string(o.max));
      o.set(s, std::to_string(n));
      return {};
    }
    case kind::boolean: {
      auto l = lower(v);
      static const std::vector<std::string> ok = {"1", "0", "true", "false", "yes", "no", "on", "off"};
      if (std::find(ok.begin(), ok.end(), l) == ok.end()) return bad("expected true or false");
      o.set(s, l);
      return {};
    }
    case kind::choice:
      if (std::find(o.choices.begin(), o.choices.end(), v) == o.choices.end()) {
        std::string list;
        for (const auto& c : o.choices) list += (list.empty() ? "" : ", ") + c;
        return bad("expected one of " + list);
      }
      o.set(s, v);
      return {};
    case kind::text:
      o.set(s, v);
      return {};
  }
  return {};
}

std::string load_ini(settings& s, const std::string& path) {
  std::ifstream in(path);
  if (!in) return "cannot read config file " + path;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';' || t[0] == '[') continue;
    auto eq = t.find('=');
    if (eq == std::string::npos)
      return path + ":" + std::to_string(n) + ": expected key = value";
    auto key = trim(t.substr(0, eq));
    auto value = trim(t.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    const option* o = find_option(key);
    if (o == nullptr) return path + ":" + std::to_string(n) + ": unknown setting " + key;
    if (auto err = apply(s, *o, value, path); !err.empty()) return err;
  }
  return {};
}

/// Cross-field checks, done once everything is read.
std::string validate(const settings& s) {
  if (s.database_url.rfind("postgres://", 0) != 0 && s.database_url.rfind("postgresql://", 0) != 0)
    return "invalid DATABASE_URL: expected postgresql://user:password@host:port/db";
  if (s.redis_url.rfind("redis://", 0) != 0)
    return "invalid REDIS_URL: expected redis://host:port/db";
  if (s.redis_prefix.empty() || s.redis_prefix.find_first_of("{} \t\r\n") != std::string::npos)
    return "invalid REDIS_PREFIX: must be non-empty without braces or spaces";
  if (s.auth_mode == "jwt" && s.auth_jwt_secret.empty() && s.auth_jwt_jwks.empty())
    return "AUTH_MODE=jwt needs AUTH_JWT_SECRET or AUTH_JWT_JWKS";
  if (s.llm_provider == "gemini" && s.gemini_api_key.empty())
    return "LLM_PROVIDER=gemini needs GEMINI_API_KEY";
  if (s.llm_provider == "openai" && s.llm_base_url.empty() && s.openai_api_key.empty())
    return "LLM_PROVIDER=openai needs OPENAI_API_KEY (or LLM_BASE_URL for a local server)";
  if (s.storage_dir.empty()) return "invalid STORAGE_DIR: must not be empty";
  if (s.cluster_timeout_ms < 2 * s.cluster_heartbeat_ms)
    return "invalid CLUSTER_TIMEOUT_MS: must be at least twice CLUSTER_HEARTBEAT_MS";
  if (!parse_seeds(s.cluster_seeds))
    return "invalid CLUSTER_SEEDS: expected host:port[,host:port...]";
  if (!s.cluster_seeds.empty() && s.cluster_port == 0)
    return "CLUSTER_SEEDS needs CLUSTER_PORT (this node's own cluster port)";
  return {};
}

}  // namespace

load_result load_settings(const std::vector<std::string>& args,
                          const std::map<std::string, std::string>& env) {
  load_result out;
  settings s;
  for (const auto& a : args)
    if (a == "--help" || a == "-h") return {std::nullopt, {}, help_text()};
  // Pass 1: the config file, wherever its flag stands.
  std::string config_file;
  if (auto it = env.find("JOBSERVER_CONFIG"); it != env.end()) config_file = it->second;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) config_file = args[i + 1];
    else if (args[i].rfind("--config=", 0) == 0) config_file = args[i].substr(9);
  }
  if (!config_file.empty())
    if (auto err = load_ini(s, config_file); !err.empty()) return {std::nullopt, err, {}};
  // Pass 2: the environment.
  for (const auto& o : options())
    if (auto it = env.find(o.env); it != env.end())
      if (auto err = apply(s, o, it->second, "environment"); !err.empty())
        return {std::nullopt, err, {}};
  // Pass 3: the command line.
  for (size_t i = 0; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--help" || a == "-h") return {std::nullopt, {}, help_text()};
    if (a == "--config") { ++i; continue; }
    if (a.rfind("--config=", 0) == 0) continue;
    if (a == "--no-migrate") { s.migrate_on_start = false; continue; }
    if (a == "--allow-dev-auth-on-network") { s.allow_dev_auth_on_network = true; continue; }
    if (a == "serve" || a == "migrate") { s.command = a; continue; }
    if (a.rfind("--", 0) != 0) return {std::nullopt, "unknown command: " + a, {}};
    auto eq = a.find('=');
    std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const option* o = find_option(name);
    if (o == nullptr) return {std::nullopt, "unknown option: --" + name, {}};
    std::string value;
    if (eq != std::string::npos) value = a.substr(eq + 1);
    else if (o->type == kind::boolean) value = "true";
    else if (i + 1 < args.size()) value = args[++i];
    else return {std::nullopt, "missing value for " + flag_of(*o), {}};
    if (auto err = apply(s, *o, value, "command line"); !err.empty())
      return {std::nullopt, err, {}};
  }
  if (auto err = validate(s); !err.empty()) return {std::nullopt, err, {}};
  out.values = std::move(s);
  return out;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

std::string help_text() {
  std::ostringstream out;
  out << "Usage: jobserver [serve|migrate] [--config FILE] [--no-migrate] "
         "[--allow-dev-auth-on-network] [--flag=value ...]\n\n"
      << "Settings, in rising precedence: defaults, INI file (--config FILE; keys as\n"
      << "lower-case env names), environment variables, command-line flags.\n\n";
  settings defaults;
  for (const auto& o : options()) {
    std::string def = o.secret ? (o.get(defaults).empty() ? "(empty)" : "(set)")
                               : o.get(defaults);
    if (o.env == "DATABASE_URL" || o.env == "REDIS_URL") def = redact_url(def);
    if (def.empty()) def = "(empty)";
    out << "  " << flag_of(o) << "\n      env " << o.env << ", default " << def << "\n      "
        << o.help << "\n";
  }
  return out.str();
}

std::string redact_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  std::string out = url;
  // The user info ends at the last '@': parse_redis_url accepts an unencoded '@' in a
  // password, so cutting at the first one would show the rest of the password.
  auto at = out.rfind('@');
  auto colon = out.find(':', scheme + 3);
  if (at != std::string::npos && at > scheme && colon < at)
    out = out.substr(0, colon + 1) + "***" + out.substr(at);
  // libpq also takes the password as a query parameter (?password=...).
  for (auto p = out.find("password=", scheme); p != std::string::npos;
       p = out.find("password=", p + 1)) {
    if (out[p - 1] != '?' && out[p - 1] != '&') continue;
    auto end = out.find('&', p);
    out = out.substr(0, p + 9) + "***" + (end == std::string::npos ? "" : out.substr(end));
  }
  return out;
}

std::optional<std::vector<std::pair<std::string, int>>> parse_seeds(const std::string& list) {
  std::vector<std::pair<std::string, int>> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    auto end = list.find(',', pos);
    if (end == std::string::npos) end = list.size();
    auto item = list.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    pos = end + 1;
    if (item.empty()) continue;
    auto colon = item.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == item.size()) return std::nullopt;
    auto port = item.substr(colon + 1);
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    int p = std::stoi(port);
    if (p <= 0 || p > 65535) return std::nullopt;
    out.emplace_back(item.substr(0, colon), p);
  }
  return out;
}

std::string effective_node_id(const settings& s) {
  if (!s.node_id.empty()) return s.node_id;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "node");
  if (s.http_port != 0) return std::string{host} + ":" + std::to_string(s.http_port);
  if (s.cluster_port != 0) return std::string{host} + ":cluster-" + std::to_string(s.cluster_port);
  return std::string{host} + ":worker-" + std::to_string(::getpid());
}

}  // namespace jobserver::config
