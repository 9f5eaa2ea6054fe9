// Server-Sent Events benchmark helper, run by scripts/bench.sh push.
//
//   sse_bench hold --port P --user U --job ID --streams N [--seconds S]
//       opens N event streams of job ID (each waits for its snapshot), prints
//       "RESULT hold opened=.. failed=.. open_ms=..", then keeps them open for S seconds
//       (default: until stdin closes) and closes them.
//   sse_bench latency --port P [--create-port Q] --user U [--jobs J] [--steps K] [--step-ms M]
//       creates J sleep jobs (on Q, default P) whose processor streams its wall clock as
//       partial text at each of K steps, listens to them on P, and prints
//       "RESULT latency samples=.. p50_us=.. p90_us=.. p99_us=.. max_us=..": from the
//       update in the processor to the event read by this client.
// It speaks HTTP/1.1 over plain sockets: one socket per stream, no thread per stream.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

std::map<std::string, std::string> parse_args(int argc, char** argv, int from) {
  std::map<std::string, std::string> out;
  for (int i = from; i + 1 < argc; i += 2) out[argv[i]] = argv[i + 1];
  return out;
}

std::string arg(const std::map<std::string, std::string>& a, const std::string& k, const std::string& def = "") {
  auto i = a.find(k);
  if (i != a.end()) return i->second;
  if (def.empty()) {
    std::cerr << "sse_bench: missing " << k << "\n";
    std::exit(2);
  }
  return def;
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

/// Reads into `buf` until `needle` appears or `timeout` passes.
bool read_until(int fd, std::string& buf, const std::string& needle, std::chrono::milliseconds timeout) {
  auto until = clock_type::now() + timeout;
  char tmp[8192];
  while (buf.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    auto n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<size_t>(n));
  }
  return true;
}

int open_stream(int port, const std::string& path, const std::string& user) {
  int fd = connect_to(port);
  if (fd < 0) return -1;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: " + user +
                    "\r\nAccept: text/event-stream\r\n\r\n";
  std::string buf;
  if (!send_all(fd, req) || !read_until(fd, buf, "event: snapshot", std::chrono::seconds(30)) ||
      buf.rfind("HTTP/1.1 200", 0) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// POST /jobs; returns the job id ("" on failure).
std::string create_job(int port, const std::string& user, const std::string& body) {
  int fd = connect_to(port);
  if (fd < 0) return {};
  std::string req = "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-User-ID: " + user +
                    "\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string buf;
  send_all(fd, req);
  read_until(fd, buf, "\"job\":", std::chrono::seconds(10));
  ::close(fd);
  auto p = buf.find("\"job_id\":\"");
  if (p == std::string::npos) return {};
  return buf.substr(p + 10, 36);
}

void raise_fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
  }
}

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int hold(const std::map<std::string, std::string>& a) {
  int port = std::stoi(arg(a, "--port"));
  auto user = arg(a, "--user");
  auto path = "/jobs/" + arg(a, "--job") + "/events";
  int n = std::stoi(arg(a, "--streams"));
  int seconds = std::stoi(arg(a, "--seconds", "-1"));
  std::vector<int> fds;
  int failed = 0;
  auto t0 = clock_type::now();
  for (int i = 0; i < n; ++i) {
    int fd = open_stream(port, path, user);
    if (fd < 0) ++failed;
    else fds.push_back(fd);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
  std::printf("RESULT hold opened=%zu failed=%d open_ms=%lld\n", fds.size(), failed, static_cast<long long>(ms));
  std::fflush(stdout);
  // Keep reading (heartbeats) so the server never blocks on a full socket buffer.
  auto until = seconds < 0 ? clock_type::time_point::max() : clock_type::now() + std::chrono::seconds(seconds);
  std::vector<pollfd> polls;
  for (int fd : fds) polls.push_back({fd, POLLIN, 0});
  polls.push_back({0, seconds < 0 ? static_cast<short>(POLLIN) : static_cast<short>(0), 0});
  char tmp[4096];
  while (clock_type::now() < until) {
    if (::poll(polls.data(), polls.size(), 200) <= 0) continue;
    if (polls.back().revents != 0) {
      if (::read(0, tmp, sizeof(tmp)) <= 0) break;  // stdin closed: done
    }
    for (size_t i = 0; i + 1 < polls.size(); ++i)
      if (polls[i].revents != 0 && ::recv(polls[i].fd, tmp, sizeof(tmp), 0) <= 0) polls[i].events = 0;
  }
  for (int fd : fds) ::close(fd);
  return failed == 0 ? 0 : 1;
}

int latency(const std::map<std::string, std::string>& a) {
  int port = std::stoi(arg(a, "--port"));
  int create_port = std::stoi(arg(a, "--create-port", std::to_string(port)));
  auto user = arg(a, "--user");
  int jobs = std::stoi(arg(a, "--jobs", "10"));
  int steps = std::stoi(arg(a, "--steps", "50"));
  int step_ms = std::stoi(arg(a, "--step-ms", "20"));
  std::vector<int64_t> samples;
  for (int j = 0; j < jobs; ++j) {
    auto id = create_job(create_port, user,
                         R"({"type":"sleep","data":{"stamp":true,"ms":)" + std::to_string(steps * step_ms) +
                             R"(,"steps":)" + std::to_string(steps) + "}}");
    if (id.empty()) {
      std::cerr << "sse_bench: cannot create a job\n";
      return 1;
    }
    int fd = open_stream(port, "/jobs/" + id + "/events", user);
    if (fd < 0) {
      std::cerr << "sse_bench: cannot open the stream\n";
      return 1;
    }
    std::string buf;
    char tmp[16384];
    auto until = clock_type::now() + std::chrono::seconds(60);
    size_t scanned = 0;
    bool done = false;
    while (!done && clock_type::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 1000) <= 0) continue;
      auto n = ::recv(fd, tmp, sizeof(tmp), 0);
      if (n <= 0) break;
      int64_t at = now_us();
      buf.append(tmp, static_cast<size_t>(n));
      for (;;) {
        auto p1 = buf.find("event: partial", scanned);
        auto end = buf.find("event: completed", scanned);
        if (end != std::string::npos && (p1 == std::string::npos || end < p1)) {
          done = true;
          break;
        }
        if (p1 == std::string::npos) break;
        auto t = buf.find("\"text\":\"", p1);
        auto q = t == std::string::npos ? t : buf.find('"', t + 8);
        if (q == std::string::npos) break;  // the rest has not arrived yet
        samples.push_back(at - std::stoll(buf.substr(t + 8, q - t - 8)));
        scanned = q;
      }
    }
    ::close(fd);
  }
  if (samples.empty()) {
    std::cerr << "sse_bench: no samples\n";
    return 1;
  }
  std::sort(samples.begin(), samples.end());
  auto pct = [&](double p) { return samples[std::min(samples.size() - 1, static_cast<size_t>(p * samples.size()))]; };
  std::printf("RESULT latency samples=%zu p50_us=%lld p90_us=%lld p99_us=%lld max_us=%lld\n", samples.size(),
              static_cast<long long>(pct(0.5)), static_cast<long long>(pct(0.9)),
              static_cast<long long>(pct(0.99)), static_cast<long long>(samples.back()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  raise_fd_limit();
  std::string cmd = argc > 1 ? argv[1] : "";
  auto a = parse_args(argc, argv, 2);
  if (cmd == "hold") return hold(a);
  if (cmd == "latency") return latency(a);
  std::cerr << "usage: sse_bench hold|latency [options] (see the top of bench/sse_bench.cpp)\n";
  return 2;
}
