#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>
#include <string>
#include <vector>

#include "config/errors.hpp"

namespace jobserver::persistence {

/// A small pool of Postgres connections. A connection that broke (the server restarted)
/// is dropped and a new one is made on next use; a call never waits forever: connecting
/// has a timeout, statements have `statement_timeout`, and borrowing waits at most
/// `borrow_timeout`. libpqxx errors are turned into `app_error` here:
/// a lost connection -> `unavailable` (transient), anything else -> `internal`.
class database {
 public:
  struct options {
    std::string url;
    size_t pool_size = 8;
    std::chrono::milliseconds borrow_timeout{5000};
    int connect_timeout_s = 3;
    int statement_timeout_ms = 15000;
    int idle_in_transaction_timeout_ms = 5000;  // a frozen client's locks are freed after this
    /// An engine pool: every session sees all owners' rows (`app.system`), so `as_system`
    /// costs no extra round trip, and commits do not wait for the WAL flush
    /// (`synchronous_commit = off`: after a Postgres crash the last few hundred ms of
    /// engine writes may be lost, and the jobs concerned simply run again). Its statements
    /// are planned for their parameters at every execution (`plan_cache_mode =
    /// force_custom_plan`) and never scan a table sequentially (`enable_seqscan = off`):
    /// the batch statements join a JSON array to `jobs`, and a plan kept from when the
    /// table was small, or made before it was first analyzed, scans the whole table for
    /// every batch. Everything run on it must find its rows through an index. `as_user`
    /// is refused on such a pool.
    bool engine_session = false;
    /// A system pool: every session sees all owners' rows, like an engine pool, but its
    /// commits are durable. For the engine's writes that a client is promised (creating
    /// jobs): `autocommit` runs a one-statement write in one round trip. `as_user` is
    /// refused on such a pool.
    bool system_session = false;
  };

  explicit database(options opts);
  ~database();
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// Runs `fn` in a transaction whose RLS context is `user_id`; commits if it returns.
  template <class F>
  auto as_user(const std::string& user_id, F&& fn) {
    if (sees_all_owners()) throw app_error(errc::internal, "as_user on a system pool");
    return run([&](pqxx::work& tx) {
      tx.exec_params("SELECT set_config('app.user_id', $1, true)", user_id);
      return fn(tx);
    });
  }

  /// Runs `fn` in a transaction that sees every owner's rows (engine maintenance only).
  template <class F>
  auto as_system(F&& fn) {
    return run([&](pqxx::work& tx) {
      if (!sees_all_owners()) tx.exec("SELECT set_config('app.system', 'on', true)");
      return fn(tx);
    });
  }

  /// Runs `fn` on a system or engine pool outside a transaction block: each statement
  /// commits on its own, so a one-statement write costs one round trip instead of three
  /// (BEGIN, the statement, COMMIT). Only for writes that are one statement.
  template <class F>
  auto autocommit(F&& fn) {
    if (!sees_all_owners()) throw app_error(errc::internal, "autocommit on a per-user pool");
    return run_in<pqxx::nontransaction>(std::forward<F>(fn));
  }

  /// Declares a statement that every connection of this pool prepares, so the hot
  /// statements are planned once per connection instead of at every call. Call before
  /// the first use; run it with `tx.exec_prepared(name, args...)`.
  void prepare(const std::string& name, const std::string& sql);

  /// Runs `fn` in a plain transaction (migrations, health checks). A pooled connection
  /// found broken before anything was committed (Postgres restarted meanwhile) is
  /// replaced and `fn` runs once more on a fresh one.
  template <class F>
  auto run(F&& fn) {
    return run_in<pqxx::work>(std::forward<F>(fn));
  }

  /// True when a trivial query succeeds within the timeouts.
  bool ping();

  const std::string& url() const { return opts_.url; }
  /// A system or engine pool (see options).
  bool sees_all_owners() const { return opts_.engine_session || opts_.system_session; }

 private:
  /// `run` with `Tx` as the transaction type. With a pqxx::nontransaction the retry on a
  /// fresh connection is as safe in the case it is for — a pooled session that Postgres
  /// ended meanwhile (a restart) cannot have run the statement; a connection lost in the
  /// middle of a statement is as much in doubt as one lost during a COMMIT.
  template <class Tx, class F>
  auto run_in(F&& fn) {
    for (int attempt = 0;; ++attempt) {
      auto lease = borrow();
      bool reused = !lease.fresh;
      try {
        Tx tx{*lease.conn};
        if constexpr (std::is_void_v<decltype(fn(tx))>) {
          fn(tx);
          tx.commit();
          return;
        } else {
          auto out = fn(tx);
          tx.commit();
          return out;
        }
      } catch (const pqxx::broken_connection&) {
        lease.conn.reset();
        if (!reused || attempt > 0) throw app_error(errc::unavailable, "database unavailable", true);
      } catch (...) {
        translate(lease);
      }
    }
  }

  struct lease_t {
    database* owner = nullptr;
    std::unique_ptr<pqxx::connection> conn;
    bool fresh = false;
    lease_t() = default;
    lease_t(lease_t&&) = default;
    ~lease_t();
  };

  lease_t borrow();
  void give_back(std::unique_ptr<pqxx::connection> conn);
  std::unique_ptr<pqxx::connection> connect();
  [[noreturn]] void translate(lease_t& lease);

  options opts_;
  std::string conn_string_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  size_t outstanding_ = 0;
  std::chrono::steady_clock::time_point last_failure_{};
  std::vector<std::pair<std::string, std::string>> prepared_;
};

}  // namespace jobserver::persistence
