#include "tests/support/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace jobserver::testing {

int free_port() {
  // The port is free once the probe socket closes, so the kernel may pick it again for
  // the next call: never hand out the same port twice in one test program (a node's HTTP
  // and cluster ports once came out equal).
  static std::mutex mu;
  static std::set<int> given;
  std::lock_guard<std::mutex> lock{mu};
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    int port = ntohs(addr.sin_port);
    ::close(fd);
    if (given.insert(port).second) return port;
  }
}

std::vector<std::vector<std::string>> thread_stats(pid_t pid) {
  std::vector<std::vector<std::string>> out;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');  // the thread name may hold spaces
    if (close == std::string::npos) continue;
    std::istringstream line(stat.substr(close + 1));
    std::vector<std::string> fields;
    for (std::string field; line >> field;) fields.push_back(field);
    out.push_back(std::move(fields));
  }
  return out;
}

std::string jobserver_binary() { return JOBSERVER_BINARY; }

server_process::server_process(const service_fixture& services,
                               std::map<std::string, std::string> env) {
  port_ = free_port();
  env_ = {
      {"DATABASE_URL", services.url},
      {"REDIS_URL", redis_url()},
      {"REDIS_PREFIX", services.prefix},
      {"HTTP_PORT", std::to_string(port_)},
      {"BIND", "127.0.0.1"},
      {"ENABLE_TEST_JOBS", "1"},
      {"LOG_LEVEL", "info"},
      {"TEST_BACKOFF_MS", "100"},
      {"NODE_ID", "test-node-" + std::to_string(port_)},
      {"HTTP_THREADS", "32"},
  };
  for (auto& [k, v] : env) env_[k] = v;
  // One log per process object, new for each test: ports are reused across runs, and
  // an old log under the same name would show lines this process never wrote.
  log_ = std::string(TEST_LOG_DIR) + "/jobserver-" + std::to_string(port_) + "-" +
         std::to_string(::getpid()) + ".log";
  ::unlink(log_.c_str());
}

server_process::~server_process() {
  if (pid_ > 0) kill9();
}

void server_process::start() {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    for (const auto& [k, v] : env_) ::setenv(k.c_str(), v.c_str(), 1);
    std::string bin = jobserver_binary();
    ::execl(bin.c_str(), bin.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto c = client();
  c->set_connection_timeout(0, 200000);
  bool up = eventually([&] {
    if (!running()) return true;
    auto r = c->Get("/health");
    return r && r->status == 200;
  }, std::chrono::seconds(20));
  if (!up || !running()) throw std::runtime_error("jobserver did not start; see " + log_);
}

void server_process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

void server_process::pause() {
  signal(SIGSTOP);
  if (pid_ <= 0) return;
  // The stop reaches each thread when it next runs: wait until all are in state T.
  eventually([&] {
    for (const auto& fields : thread_stats(pid_))
      if (fields.empty() || fields[0] != "T") return false;
    return true;
  }, std::chrono::seconds(5));
}

bool server_process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

int server_process::stop(std::chrono::seconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill9();
  return -1;
}

void server_process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::unique_ptr<httplib::Client> server_process::client() const {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
  c->set_read_timeout(10, 0);
  c->set_write_timeout(10, 0);
  c->set_connection_timeout(2, 0);
  c->set_keep_alive(true);
  return c;
}

}  // namespace jobserver::testing
