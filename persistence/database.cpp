#include "persistence/database.hpp"

#include "config/log.hpp"

namespace jobserver::persistence {
namespace {

/// Adds libpq parameters (connect timeout, TCP keepalives) to a URL that lacks them.
std::string with_defaults(const std::string& url, int connect_timeout_s) {
  std::string out = url;
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](const std::string& key, const std::string& value) {
    if (out.find(key + "=") != std::string::npos) return;
    out += sep + key + "=" + value;
    sep = '&';
  };
  add("connect_timeout", std::to_string(connect_timeout_s));
  add("keepalives_idle", "5");
  add("keepalives_interval", "2");
  add("keepalives_count", "3");
  add("application_name", "jobserver");
  return out;
}

}  // namespace

database::database(options opts)
  : opts_(std::move(opts)), conn_string_(with_defaults(opts_.url, opts_.connect_timeout_s)) {}

database::~database() = default;

database::lease_t::~lease_t() {
  if (owner != nullptr) owner->give_back(std::move(conn));
}

std::unique_ptr<pqxx::connection> database::connect() {
  try {
    auto c = std::make_unique<pqxx::connection>(conn_string_);
    {
      pqxx::nontransaction tx{*c};
      // A process frozen inside a transaction (SIGSTOP, a paused VM) would hold its row
      // locks for as long as its socket stays open, and block the node that takes its jobs
      // over; Postgres ends such a session after a few seconds instead.
      std::string setup = "SET statement_timeout = " + std::to_string(opts_.statement_timeout_ms) +
                          "; SET idle_in_transaction_session_timeout = " +
                          std::to_string(opts_.idle_in_transaction_timeout_ms);
      if (sees_all_owners()) setup += "; SET app.system = 'on'";
      if (opts_.engine_session)
        setup += "; SET synchronous_commit = off; SET plan_cache_mode = force_custom_plan"
                 "; SET enable_seqscan = off";
      tx.exec(setup);
    }
    std::vector<std::pair<std::string, std::string>> statements;
    {
      std::lock_guard<std::mutex> guard{mutex_};
      statements = prepared_;
    }
    for (const auto& [name, sql] : statements) c->prepare(name, sql);
    return c;
  } catch (const std::exception&) {
    std::lock_guard<std::mutex> guard{mutex_};
    last_failure_ = std::chrono::steady_clock::now();
    throw app_error(errc::unavailable, "database unavailable", true);
  }
}

database::lease_t database::borrow() {
  lease_t lease;
  {
    std::unique_lock<std::mutex> lock{mutex_};
    auto ok = cv_.wait_for(lock, opts_.borrow_timeout, [&] {
      return !idle_.empty() || outstanding_ < opts_.pool_size;
    });
    if (!ok) throw app_error(errc::unavailable, "database busy: no free connection", true);
    ++outstanding_;
    if (!idle_.empty()) {
      lease.conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  lease.owner = this;
  if (!lease.conn || !lease.conn->is_open()) {
    lease.conn.reset();
    lease.conn = connect();  // on failure the lease's destructor frees the slot
    lease.fresh = true;
  }
  return lease;
}

void database::give_back(std::unique_ptr<pqxx::connection> conn) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    --outstanding_;
    if (conn && conn->is_open()) idle_.push_back(std::move(conn));
  }
  cv_.notify_one();
}

void database::translate(lease_t& lease) {
  try {
    throw;
  } catch (const app_error&) {
    throw;
  } catch (const pqxx::broken_connection&) {
    lease.conn.reset();
    throw app_error(errc::unavailable, "database unavailable", true);
  } catch (const pqxx::in_doubt_error&) {
    lease.conn.reset();
    throw app_error(errc::unavailable, "database connection lost during commit", true);
  } catch (const pqxx::transaction_rollback&) {
    // Serialization failure or deadlock (40001, 40P01). libpqxx 6 throws these outside
    // sql_error and without a sqlstate, so the check below would never see them.
    throw app_error(errc::unavailable, "database temporarily unavailable", true);
  } catch (const pqxx::sql_error& e) {
    // Timeouts and serialization failures may succeed later; other SQL errors will not.
    std::string state = e.sqlstate();
    bool transient = state == "57014" || state == "40001" || state == "40P01" ||
                     state.rfind("08", 0) == 0 || state == "57P01";
    if (state.rfind("08", 0) == 0 || state == "57P01") lease.conn.reset();
    if (!transient) logger("db")->error("query failed (sqlstate {}): {}", state, e.what());
    throw app_error(transient ? errc::unavailable : errc::internal,
                    transient ? "database temporarily unavailable" : "database error",
                    transient);
  } catch (const std::exception& e) {
    if (lease.conn && !lease.conn->is_open()) lease.conn.reset();
    throw app_error(errc::internal, e.what());
  }
}

void database::prepare(const std::string& name, const std::string& sql) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (const auto& [n, existing] : prepared_)
    if (n == name) return;
  prepared_.emplace_back(name, sql);
  // Connections made before this call learn it too.
  for (auto& c : idle_) c->prepare(name, sql);
}

bool database::ping() {
  try {
    run([](pqxx::work& tx) { tx.exec("SELECT 1"); });
    return true;
  } catch (const app_error&) {
    return false;
  }
}

}  // namespace jobserver::persistence
