#include "config/settings.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

using jobserver::config::load_settings;
using jobserver::config::redact_url;
using Catch::Matchers::Contains;
using env_map = std::map<std::string, std::string>;
using args_t = std::vector<std::string>;

namespace {

/// A temporary INI file, removed at destruction.
struct temp_ini {
  std::filesystem::path path;
  explicit temp_ini(const std::string& text) {
    std::mt19937_64 rng{std::random_device{}()};
    path = std::filesystem::temp_directory_path() /
           ("jobserver_settings_" + std::to_string(rng()) + ".ini");
    std::ofstream{path} << text;
  }
  ~temp_ini() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
  std::string str() const { return path.string(); }
};

// Secrets that must never show up in help or error text.
const std::string gemini_key = "gk-SECRET-gemini-4711";
const std::string jwt_secret = "jwt-SECRET-hs256-0815";
const std::string db_password = "pg-SECRET-pass-1234";

env_map with_secrets(env_map env = {}) {
  env.emplace("GEMINI_API_KEY", gemini_key);
  env.emplace("AUTH_JWT_SECRET", jwt_secret);
  env.emplace("DATABASE_URL", "postgresql://app:" + db_password + "@db.internal:5432/app");
  return env;
}

void require_no_secret(const std::string& text) {
  CHECK_THAT(text, !Contains(gemini_key));
  CHECK_THAT(text, !Contains(jwt_secret));
  CHECK_THAT(text, !Contains(db_password));
}

/// Loads settings that must be rejected; returns the error line.
std::string error_of(const args_t& args, const env_map& env) {
  auto r = load_settings(args, env);
  REQUIRE_FALSE(r.values.has_value());
  REQUIRE(r.help.empty());
  REQUIRE_FALSE(r.error.empty());
  return r.error;
}

jobserver::config::settings loaded(const args_t& args, const env_map& env) {
  auto r = load_settings(args, env);
  INFO("error: " << r.error);
  REQUIRE(r.values.has_value());
  REQUIRE(r.error.empty());
  return *r.values;
}

}  // namespace

TEST_CASE("without a file, environment or flags every setting keeps its default", "[settings]") {
  auto s = loaded({}, {});
  CHECK(s.database_url == "postgresql://jobserver:jobserver@127.0.0.1:54329/jobserver");
  CHECK(s.redis_url == "redis://127.0.0.1:63799/0");
  CHECK(s.redis_prefix == "jobserver");
  CHECK(s.http_port == 8080);
  CHECK(s.bind == "127.0.0.1");
  CHECK(s.auth_mode == "dev");
  CHECK(s.llm_provider == "offline");
  CHECK(s.per_user_concurrency == 2);
  CHECK(s.upload_retry.max_attempts == 3);
  CHECK(s.upload_retry.backoff_ms == 2000);
  CHECK(s.lesson_retry.max_attempts == 2);
  CHECK(s.test_retry.backoff_ms == 200);
  CHECK(s.lease_ms == 10000);
  CHECK(s.max_stalls == 2);
  CHECK_FALSE(s.enable_test_jobs);
  CHECK_FALSE(s.allow_dev_auth_on_network);
  CHECK(s.migrate_on_start);
  CHECK(s.log_level == "info");
  CHECK(s.command == "serve");
}

TEST_CASE("a flag beats the environment, which beats the INI file, which beats the default",
          "[settings]") {
  temp_ini ini{
      "# comment\n"
      "; another comment\n"
      "[server]\n"
      "http_port = 1000\n"
      "lease_ms = 1500\n"
      "LOG_LEVEL = debug\n"
      "redis_prefix = \"from-ini\"\n"
      "upload_max_attempts = 7\n"};
  env_map env{{"HTTP_PORT", "2000"}, {"LEASE_MS", "2500"}, {"UPLOAD_MAX_ATTEMPTS", "8"}};

  SECTION("with --config FILE") {
    auto s = loaded({"--config", ini.str(), "--http-port=3000"}, env);
    CHECK(s.http_port == 3000);               // flag
    CHECK(s.lease_ms == 2500);                // environment over INI
    CHECK(s.upload_retry.max_attempts == 8);  // environment over INI
    CHECK(s.log_level == "debug");            // INI over default
    CHECK(s.redis_prefix == "from-ini");      // INI value without its quotes
    CHECK(s.max_stalls == 2);                 // default
  }
  SECTION("with --config=FILE after the flags and a flag value in the next argument") {
    auto s = loaded({"--lease-ms", "4000", "--config=" + ini.str()}, env);
    CHECK(s.lease_ms == 4000);
    CHECK(s.http_port == 2000);
    CHECK(s.log_level == "debug");
  }
  SECTION("with the file named by JOBSERVER_CONFIG") {
    env.emplace("JOBSERVER_CONFIG", ini.str());
    auto s = loaded({}, env);
    CHECK(s.http_port == 2000);
    CHECK(s.log_level == "debug");
  }
}

TEST_CASE("asking for --help lists every environment variable with its default", "[settings]") {
  auto r = load_settings({"--help"}, {});
  REQUIRE_FALSE(r.values.has_value());
  REQUIRE(r.error.empty());
  const std::string& help = r.help;
  for (const char* name :
       {"DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "DB_POOL_SIZE", "HTTP_PORT", "BIND",
        "HTTP_THREADS", "AUTH_MODE", "AUTH_JWT_SECRET", "AUTH_JWT_JWKS", "AUTH_JWT_ISSUER",
        "AUTH_JWT_AUDIENCE", "ALLOW_DEV_AUTH_ON_NETWORK", "STORAGE_DIR", "MAX_UPLOAD_MB",
        "MAX_PDF_PAGES", "LLM_PROVIDER", "LLM_BASE_URL", "LLM_MODEL", "GEMINI_API_KEY",
        "OPENAI_API_KEY", "UPLOAD_CONCURRENCY", "LESSON_CONCURRENCY", "TEST_JOB_CONCURRENCY",
        "PER_USER_CONCURRENCY", "UPLOAD_MAX_ATTEMPTS", "UPLOAD_BACKOFF_MS",
        "LESSON_MAX_ATTEMPTS", "LESSON_BACKOFF_MS", "TEST_MAX_ATTEMPTS", "TEST_BACKOFF_MS",
        "LEASE_MS", "MAX_STALLS", "ENABLE_TEST_JOBS", "JOB_RETENTION_HOURS",
        "CLEANUP_INTERVAL_MINUTES", "RECONCILE_INTERVAL_SECONDS", "NODE_ID",
        "SHUTDOWN_GRACE_SECONDS", "MIGRATE_ON_START", "LOG_LEVEL"}) {
    CHECK_THAT(help, Contains(std::string{"env "} + name + ","));
  }
  CHECK_THAT(help, Contains("env HTTP_PORT, default 8080"));
  CHECK_THAT(help, Contains("env LEASE_MS, default 10000"));
  CHECK_THAT(help, Contains("env AUTH_MODE, default dev"));
  CHECK_THAT(help, Contains("--per-user-concurrency"));
  // The default DATABASE_URL carries a password: shown redacted.
  CHECK_THAT(help, Contains("env DATABASE_URL, default postgresql://jobserver:***@127.0.0.1:54329/jobserver"));
  CHECK_THAT(help, !Contains("jobserver:jobserver@"));
  CHECK(load_settings({"-h"}, {}).help == help);
}

TEST_CASE("help text never shows a secret set in the environment or on the command line",
          "[settings]") {
  auto r = load_settings({"--openai-api-key=sk-SECRET-openai", "--help"}, with_secrets());
  REQUIRE_FALSE(r.help.empty());
  require_no_secret(r.help);
  CHECK_THAT(r.help, !Contains("sk-SECRET-openai"));
  CHECK_THAT(r.help, Contains("env GEMINI_API_KEY, default (empty)"));
}

TEST_CASE("a value that is not an integer is rejected naming the setting but not the value",
          "[settings]") {
  auto err = error_of({}, with_secrets({{"HTTP_PORT", "80x80"}}));
  CHECK_THAT(err, Contains("HTTP_PORT"));
  CHECK_THAT(err, Contains("environment"));
  CHECK_THAT(err, !Contains("80x80"));
  require_no_secret(err);
  CHECK_THAT(error_of({"--lease-ms=12.5"}, {}), Contains("LEASE_MS"));
  CHECK_THAT(error_of({"--lease-ms="}, {}), Contains("LEASE_MS"));
  CHECK_THAT(error_of({"--lease-ms=1234567890123"}, {}), Contains("LEASE_MS"));
}

TEST_CASE("an integer outside its range is rejected naming the setting and the range",
          "[settings]") {
  auto err = error_of({"--http-port", "70001"}, with_secrets());
  CHECK_THAT(err, Contains("HTTP_PORT"));
  CHECK_THAT(err, Contains("between 0 and 65535"));
  CHECK_THAT(err, !Contains("70001"));
  require_no_secret(err);
  CHECK_THAT(error_of({}, {{"LEASE_MS", "499"}}), Contains("LEASE_MS"));
  CHECK_THAT(error_of({}, {{"PER_USER_CONCURRENCY", "0"}}), Contains("PER_USER_CONCURRENCY"));
  CHECK_THAT(error_of({}, {{"MAX_STALLS", "-1"}}), Contains("MAX_STALLS"));
  // The bounds themselves are accepted.
  CHECK(loaded({}, {{"HTTP_PORT", "0"}}).http_port == 0);
  CHECK(loaded({}, {{"HTTP_PORT", "65535"}}).http_port == 65535);
  CHECK(loaded({}, {{"LEASE_MS", "500"}}).lease_ms == 500);
}

TEST_CASE("a value outside a setting's choices is rejected naming the setting and the choices",
          "[settings]") {
  auto err = error_of({}, with_secrets({{"AUTH_MODE", "oauth-xyz"}}));
  CHECK_THAT(err, Contains("AUTH_MODE"));
  CHECK_THAT(err, Contains("dev, jwt"));
  CHECK_THAT(err, !Contains("oauth-xyz"));
  require_no_secret(err);
  CHECK_THAT(error_of({"--log-level=verbose"}, {}), Contains("LOG_LEVEL"));
  CHECK_THAT(error_of({}, {{"LLM_PROVIDER", "claude"}}), Contains("LLM_PROVIDER"));
}

TEST_CASE("a boolean accepts the usual spellings and rejects anything else", "[settings]") {
  CHECK(loaded({}, {{"ENABLE_TEST_JOBS", "yes"}}).enable_test_jobs);
  CHECK(loaded({}, {{"ENABLE_TEST_JOBS", "TRUE"}}).enable_test_jobs);
  CHECK(loaded({"--enable-test-jobs"}, {}).enable_test_jobs);
  CHECK_FALSE(loaded({}, {{"MIGRATE_ON_START", "off"}}).migrate_on_start);
  CHECK_FALSE(loaded({"--enable-test-jobs=0"}, {{"ENABLE_TEST_JOBS", "1"}}).enable_test_jobs);
  auto err = error_of({"--enable-test-jobs=maybe-so"}, with_secrets());
  CHECK_THAT(err, Contains("ENABLE_TEST_JOBS"));
  CHECK_THAT(err, !Contains("maybe-so"));
  require_no_secret(err);
}

TEST_CASE("an unknown key in the INI file is rejected naming the key and its line",
          "[settings]") {
  temp_ini ini{"http_port = 1000\n\nhttp_prot = 2000\n"};
  auto err = error_of({"--config", ini.str()}, with_secrets());
  CHECK_THAT(err, Contains("http_prot"));
  CHECK_THAT(err, Contains(ini.str() + ":3"));
  require_no_secret(err);
  temp_ini bad_value{"max_stalls = lots\n"};
  CHECK_THAT(error_of({"--config", bad_value.str()}, {}), Contains("MAX_STALLS"));
  CHECK_THAT(error_of({"--config", ini.str() + ".missing"}, {}), Contains("cannot read"));
}

TEST_CASE("an unknown command-line flag is rejected naming the flag but not its value",
          "[settings]") {
  auto err = error_of({"--http-prot=9090"}, with_secrets());
  CHECK_THAT(err, Contains("--http-prot"));
  CHECK_THAT(err, !Contains("9090"));
  require_no_secret(err);
  CHECK_THAT(error_of({"--frobnicate"}, {}), Contains("--frobnicate"));
  CHECK_THAT(error_of({"--http-port"}, {}), Contains("missing value for --http-port"));
  CHECK_THAT(error_of({"deploy"}, {}), Contains("unknown command"));
}

TEST_CASE("AUTH_MODE=jwt without a secret or a JWKS is rejected", "[settings]") {
  auto err = error_of({"--auth-mode=jwt"}, {});
  CHECK_THAT(err, Contains("AUTH_MODE=jwt"));
  CHECK_THAT(err, Contains("AUTH_JWT_SECRET"));
  auto with_secret = loaded({"--auth-mode=jwt"}, {{"AUTH_JWT_SECRET", jwt_secret}});
  CHECK(with_secret.auth_mode == "jwt");
  CHECK(with_secret.auth_jwt_secret == jwt_secret);
  CHECK(loaded({}, {{"AUTH_MODE", "jwt"}, {"AUTH_JWT_JWKS", "/etc/jwks.json"}}).auth_mode == "jwt");
}

TEST_CASE("LLM_PROVIDER=gemini without an API key is rejected naming GEMINI_API_KEY",
          "[settings]") {
  auto err = error_of({}, {{"LLM_PROVIDER", "gemini"}, {"AUTH_JWT_SECRET", jwt_secret}});
  CHECK_THAT(err, Contains("GEMINI_API_KEY"));
  require_no_secret(err);
  auto s = loaded({"--llm-provider", "gemini"}, {{"GEMINI_API_KEY", gemini_key}});
  CHECK(s.llm_provider == "gemini");
  CHECK(s.gemini_api_key == gemini_key);
  CHECK_THAT(error_of({"--llm-provider=openai"}, {}), Contains("OPENAI_API_KEY"));
}

TEST_CASE("a malformed service URL is rejected without repeating its password", "[settings]") {
  auto err = error_of({}, {{"DATABASE_URL", "mysql://app:" + db_password + "@h/db"}});
  CHECK_THAT(err, Contains("DATABASE_URL"));
  require_no_secret(err);
  auto redis_err = error_of({"--redis-url=http://:" + db_password + "@h:1/0"}, {});
  CHECK_THAT(redis_err, Contains("REDIS_URL"));
  require_no_secret(redis_err);
  CHECK_THAT(error_of({}, {{"REDIS_PREFIX", "a{b}"}}), Contains("REDIS_PREFIX"));
}

TEST_CASE("redact_url hides the password of a URL and leaves other URLs alone", "[settings]") {
  CHECK(redact_url("postgresql://app:" + db_password + "@db:5432/app") ==
        "postgresql://app:***@db:5432/app");
  CHECK(redact_url("redis://:" + db_password + "@127.0.0.1:6379/0") ==
        "redis://:***@127.0.0.1:6379/0");
  CHECK(redact_url("postgresql://app@db:5432/app") == "postgresql://app@db:5432/app");
  CHECK(redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0");
  CHECK(redact_url("not a url") == "not a url");
}

TEST_CASE("redact_url hides a password that contains an at sign or sits in the query",
          "[settings]") {
  // parse_redis_url accepts an unencoded '@' in a password (it splits at the last one).
  auto at = redact_url("redis://:p@ss-" + db_password + "@127.0.0.1:6379/0");
  CHECK_THAT(at, !Contains(db_password));
  CHECK_THAT(at, Contains("***"));
  // libpq takes the password as a query parameter too.
  auto query = redact_url("postgresql://app@db:5432/app?sslmode=require&password=" +
                          db_password + "&application_name=x");
  CHECK_THAT(query, !Contains(db_password));
  CHECK_THAT(query, Contains("sslmode=require"));
  CHECK_THAT(query, Contains("application_name=x"));
}

TEST_CASE("the migrate command and --no-migrate are parsed", "[settings]") {
  auto migrate = loaded({"migrate"}, {});
  CHECK(migrate.command == "migrate");
  CHECK(migrate.migrate_on_start);
  auto serve = loaded({"--no-migrate", "serve"}, {{"MIGRATE_ON_START", "true"}});
  CHECK(serve.command == "serve");
  CHECK_FALSE(serve.migrate_on_start);
  CHECK(loaded({"--allow-dev-auth-on-network"}, {}).allow_dev_auth_on_network);
}

TEST_CASE("cluster seeds are parsed as host:port pairs and malformed ones are rejected",
          "[settings][cluster]") {
  using jobserver::config::parse_seeds;
  auto two = parse_seeds(" 10.0.0.1:7071, node-b.internal:7072 ");
  REQUIRE(two);
  REQUIRE(two->size() == 2);
  CHECK((*two)[0] == std::pair<std::string, int>{"10.0.0.1", 7071});
  CHECK((*two)[1] == std::pair<std::string, int>{"node-b.internal", 7072});
  CHECK(parse_seeds("")->empty());
  for (const char* bad : {"host", "host:", ":7071", "host:port", "host:0", "host:70000", "h:1,x"}) {
    INFO(bad);
    CHECK_FALSE(parse_seeds(bad));
  }
  auto r = load_settings({}, {{"CLUSTER_PORT", "7071"}, {"CLUSTER_SEEDS", "a:1,b"}});
  CHECK_FALSE(r.values);
  CHECK_THAT(r.error, Contains("CLUSTER_SEEDS"));
}

TEST_CASE("a cluster timeout shorter than two heartbeats, or seeds without a cluster port, "
          "are rejected",
          "[settings][cluster]") {
  auto short_timeout = load_settings({}, {{"CLUSTER_HEARTBEAT_MS", "1000"}, {"CLUSTER_TIMEOUT_MS", "1500"}});
  CHECK_FALSE(short_timeout.values);
  CHECK_THAT(short_timeout.error, Contains("CLUSTER_TIMEOUT_MS"));
  auto no_port = load_settings({}, {{"CLUSTER_SEEDS", "127.0.0.1:7071"}});
  CHECK_FALSE(no_port.values);
  CHECK_THAT(no_port.error, Contains("CLUSTER_PORT"));
  auto ok = load_settings({}, {{"CLUSTER_PORT", "7072"}, {"CLUSTER_SEEDS", "127.0.0.1:7071"}});
  REQUIRE(ok.values);
  CHECK(ok.values->cluster_port == 7072);
}

TEST_CASE("a worker-only node without NODE_ID is named after its cluster port", "[settings][cluster]") {
  auto r = load_settings({}, {{"HTTP_PORT", "0"}, {"CLUSTER_PORT", "7075"}});
  REQUIRE(r.values);
  auto id = jobserver::config::effective_node_id(*r.values);
  CHECK_THAT(id, Contains(":cluster-7075"));
}
