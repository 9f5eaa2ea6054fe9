// jobserver: background jobs for the study app (see README.md).
//   jobserver [serve]   run a node (HTTP API + workers)
//   jobserver migrate   apply database migrations and exit
#include <csignal>
#include <cstdio>
#include <iostream>

#include "actors/node.hpp"
#include "config/log.hpp"
#include "config/settings.hpp"
#include "http/server.hpp"
#include "persistence/database.hpp"
#include "persistence/migrations.hpp"

using namespace jobserver;

namespace {

int migrate(const config::settings& s) {
  persistence::database db{{s.database_url, 1}};
  int n = persistence::apply_migrations(db);
  logger("db")->info("schema is current ({} migration(s) applied now)", n);
  return 0;
}

/// Blocks SIGINT/SIGTERM in every thread started after this, so `wait_for_stop` alone
/// receives them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

int wait_for_stop(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

int serve(const config::settings& s) {
  auto signals = block_stop_signals();
  if (s.migrate_on_start) migrate(s);
  logger("node")->info("starting node {} (database {}, redis {})", config::effective_node_id(s),
                       config::redact_url(s.database_url), config::redact_url(s.redis_url));
  actors::node node{s};
  std::unique_ptr<http::server> web;
  if (s.http_port != 0) web = std::make_unique<http::server>(s, node);
  if (web) web->set_cluster_members([&node] { return node.cluster_members(); });
  node.start();
  if (web) web->start();
  int sig = wait_for_stop(signals);
  logger("node")->info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  // The API keeps answering while running jobs finish; then everything stops.
  node.drain();
  if (web) web->stop();
  node.stop();
  logger("node")->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto loaded = config::load_settings(args, config::process_environment());
  if (!loaded.help.empty()) {
    std::cout << loaded.help;
    return 0;
  }
  if (!loaded.values) {
    std::cerr << "jobserver: " << loaded.error << "\n";
    return 2;
  }
  const auto& s = *loaded.values;
  set_log_level(s.log_level);
  try {
    if (s.command == "migrate") return migrate(s);
    return serve(s);
  } catch (const app_error& e) {
    std::cerr << "jobserver: " << e.what() << "\n";
    return e.code() == errc::invalid_input ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "jobserver: " << e.what() << "\n";
    return 1;
  }
}
