#include "bench/http_loop.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace jobserver::bench {

namespace {

double ms_between(http_loop::clock_type::time_point a, http_loop::clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool iequals_prefix(const std::string& line, const char* name, size_t& value_at) {
  size_t n = std::strlen(name);
  if (line.size() <= n || line[n] != ':' || strncasecmp(line.c_str(), name, n) != 0) return false;
  value_at = n + 1;
  while (value_at < line.size() && (line[value_at] == ' ' || line[value_at] == '\t')) ++value_at;
  return true;
}

}  // namespace

http_loop::http_loop(std::string host, int port, std::chrono::milliseconds timeout)
  : host_(std::move(host)), port_(port), timeout_(timeout) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(std::string{"epoll_create1: "} + std::strerror(errno));
}

http_loop::~http_loop() {
  for (auto& c : conns_)
    if (c.fd >= 0) ::close(c.fd);
  ::close(epoll_);
}

int http_loop::connect_socket() const {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (::getaddrinfo(host_.c_str(), std::to_string(port_).c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (auto* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string http_loop::request(const std::string& method, const std::string& path,
                               const std::vector<std::pair<std::string, std::string>>& headers,
                               const std::string& body, const std::string& content_type) const {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) + "\r\n";
  for (const auto& [k, v] : headers) r += k + ": " + v + "\r\n";
  if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  r += body;
  return r;
}

int http_loop::take_answer(std::string& in, http_answer& a, bool& close_after) {
  auto end = in.find("\r\n\r\n");
  if (end == std::string::npos) {
    if (in.size() > 65536) {
      a.body = "answer headers longer than 64 KiB";
      return -1;
    }
    return 0;
  }
  if (in.compare(0, 7, "HTTP/1.") != 0 || end < 12) {
    a.body = "not an HTTP/1.x answer: " + in.substr(0, 40);
    return -1;
  }
  int status = std::atoi(in.c_str() + 9);
  bool http10 = in[7] == '0';
  long length = -1;
  bool keep_alive_10 = false;
  close_after = false;
  for (size_t at = in.find("\r\n") + 2; at < end;) {
    auto eol = in.find("\r\n", at);
    std::string line = in.substr(at, eol - at);
    at = eol + 2;
    size_t v = 0;
    if (iequals_prefix(line, "content-length", v)) {
      length = std::atol(line.c_str() + v);
    } else if (iequals_prefix(line, "connection", v)) {
      if (strncasecmp(line.c_str() + v, "close", 5) == 0) close_after = true;
      if (strncasecmp(line.c_str() + v, "keep-alive", 10) == 0) keep_alive_10 = true;
    } else if (iequals_prefix(line, "transfer-encoding", v)) {
      a.body = "chunked answers are not read by this client";
      return -1;
    }
  }
  if (http10 && !keep_alive_10) close_after = true;
  if (length < 0) {
    if (status != 204 && status != 304) {
      a.body = "answer without Content-Length";
      return -1;
    }
    length = 0;
  }
  size_t total = end + 4 + static_cast<size_t>(length);
  if (in.size() < total) return 0;
  a.status = status;
  a.body = in.substr(end + 4, static_cast<size_t>(length));
  in.erase(0, total);
  return 1;
}

int http_loop::open(int n, const std::string& probe_path,
                    const std::function<void(const std::string&)>& say) {
  int failures = 0;
  auto probe = request("GET", probe_path, {});
  for (int i = 0; i < n; ++i) {
    connection c;
    for (int attempt = 0; c.fd < 0; ++attempt) {
      if (attempt == 5) throw std::runtime_error("cannot open connection " + std::to_string(i + 1));
      std::string why;
      int fd = connect_socket();
      if (fd < 0) {
        why = std::string{"connect: "} + std::strerror(errno);
      } else {
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        c.in.clear();
        http_answer a;
        bool close_after = false;
        int got = 0;
        if (::send(fd, probe.data(), probe.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(probe.size())) {
          char buf[4096];
          while ((got = take_answer(c.in, a, close_after)) == 0) {
            auto r = ::recv(fd, buf, sizeof buf, 0);
            if (r <= 0) break;
            c.in.append(buf, static_cast<size_t>(r));
          }
        }
        if (got == 1 && a.status == 200 && !close_after) {
          timeval none{0, 0};
          ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
          ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
          c.fd = fd;
          continue;
        }
        why = got == 1 ? "HTTP " + std::to_string(a.status) : got < 0 ? a.body : "no answer";
        ::close(fd);
      }
      if (++failures <= 5) say("opening a connection (GET " + probe_path + ") failed: " + why);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = conns_.size();
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    conns_.push_back(std::move(c));
  }
  return failures;
}

void http_loop::reopen(connection& c) {
  if (c.fd >= 0) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
  }
  c.in.clear();
  c.out.clear();
  c.fd = connect_socket();
  if (c.fd < 0) return;
  ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
}

bool http_loop::flush_out(connection& c) {
  while (!c.out.empty()) {
    auto r = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r <= 0) return false;
    c.out.erase(0, static_cast<size_t>(r));
  }
  epoll_event ev{};
  ev.events = c.out.empty() ? EPOLLIN : EPOLLIN | EPOLLOUT;
  ev.data.u64 = static_cast<uint64_t>(&c - conns_.data());
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, c.fd, &ev);
  return true;
}

void http_loop::run(const next_fn& next, const done_fn& done, const bool& stop) {
  auto now = clock_type::now();
  auto finish = [&](size_t i, http_answer&& a) {
    auto& c = conns_[i];
    c.busy = false;
    c.resume_at = now + done(i, std::move(a));
  };
  auto fail = [&](size_t i, const std::string& why) {
    auto& c = conns_[i];
    http_answer a{0, why, ms_between(c.sent_at, now)};
    reopen(c);
    finish(i, std::move(a));
  };
  auto start = [&](size_t i) {
    auto& c = conns_[i];
    std::string req;
    if (!next(i, req)) {
      c.finished = true;
      return;
    }
    c.busy = true;
    c.sent_at = now;
    c.out = std::move(req);
    if (c.fd < 0) reopen(c);
    if (c.fd < 0) {
      c.out.clear();
      fail(i, std::string{"cannot connect: "} + std::strerror(errno));
    } else if (!flush_out(c)) {
      fail(i, std::string{"send: "} + std::strerror(errno));
    }
  };
  for (size_t i = 0; i < conns_.size(); ++i) start(i);
  std::vector<epoll_event> events(conns_.size() + 1);
  char buf[16384];
  while (!stop) {
    bool active = false;
    for (const auto& c : conns_) active = active || !c.finished;
    if (!active) break;
    int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 10);
    now = clock_type::now();
    for (int e = 0; e < n; ++e) {
      size_t i = events[static_cast<size_t>(e)].data.u64;
      auto& c = conns_[i];
      if ((events[static_cast<size_t>(e)].events & EPOLLOUT) != 0 && !flush_out(c)) {
        fail(i, std::string{"send: "} + std::strerror(errno));
        continue;
      }
      bool closed = false;
      for (;;) {
        auto r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          if (static_cast<size_t>(r) < sizeof buf) break;
        } else if (r < 0 && errno == EINTR) {
          continue;
        } else {
          closed = r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
          break;
        }
      }
      if (c.busy) {
        http_answer a;
        bool close_after = false;
        int got = take_answer(c.in, a, close_after);
        if (got == 1) {
          a.ms = ms_between(c.sent_at, now);
          if (close_after || closed) reopen(c);
          finish(i, std::move(a));
          continue;
        }
        if (got < 0) {
          fail(i, a.body);
          continue;
        }
        if (closed) fail(i, "connection closed before the answer");
      } else if (closed || !c.in.empty()) {
        reopen(c);  // an idle keep-alive connection the server closed
      }
    }
    for (size_t i = 0; i < conns_.size(); ++i) {
      auto& c = conns_[i];
      if (c.finished) continue;
      if (c.busy && now - c.sent_at > timeout_) fail(i, "no answer within the timeout");
      if (!c.busy && now >= c.resume_at) start(i);
    }
  }
}

}  // namespace jobserver::bench
