#pragma once

#include <httplib.h>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_env.hpp"

namespace jobserver::testing {

/// A real `jobserver` process (the binary under test) on a free loopback port, bound to
/// a fixture's schema and Redis prefix. Killed (SIGKILL) at destruction if still running.
class server_process {
 public:
  /// `env` is added to (and overrides) the defaults: the fixture's DATABASE_URL and
  /// REDIS_PREFIX, HTTP_PORT, ENABLE_TEST_JOBS=1, LOG_LEVEL=warn, short retry delays.
  server_process(const service_fixture& services, std::map<std::string, std::string> env = {});
  ~server_process();

  /// Starts the process and waits (at most 20 s) until /health answers.
  void start();
  /// SIGTERM, then waits for the exit; returns the exit status (-1 when it had to be killed).
  int stop(std::chrono::seconds grace = std::chrono::seconds(20));
  /// SIGKILL, as a crash would.
  void kill9();
  void signal(int sig);
  /// SIGSTOP, returning once every thread of the process has stopped (at most 5 s): a hung
  /// node whose open connections stay open.
  void pause();
  bool running();

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_; }
  /// A keep-alive client for this server, 10 s timeouts.
  std::unique_ptr<httplib::Client> client() const;

 private:
  std::map<std::string, std::string> env_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string log_;
};

/// A loopback TCP port that is free now and was not returned before in this program.
int free_port();

/// Each thread's /proc/<pid>/task/<tid>/stat, from field 3 (the state) on: fields[0] is
/// field 3. Empty when the process is gone.
std::vector<std::vector<std::string>> thread_stats(pid_t pid);

/// Path of the jobserver binary under test.
std::string jobserver_binary();

/// Polls `cond` every 20 ms until it is true or `timeout` passes; returns its last value.
template <class F>
bool eventually(F&& cond, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

}  // namespace jobserver::testing
