#include "http/connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace jobserver::http {
namespace {

constexpr size_t read_buffer_bytes = 64 * 1024;

/// A complete response header block, as cpp-httplib writes it in one piece.
bool is_header_block(const char* p, size_t n) {
  return n >= 16 && std::memcmp(p, "HTTP/1.", 7) == 0 && std::memcmp(p + n - 4, "\r\n\r\n", 4) == 0;
}

/// The peer's (getpeername) or our own (getsockname) address of a socket, as text.
void address_of(int fd, int (*name)(int, sockaddr*, socklen_t*), std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  char text[INET6_ADDRSTRLEN] = "";
  port = 0;
  if (name(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    if (addr.ss_family == AF_INET) {
      auto& a = reinterpret_cast<const sockaddr_in&>(addr);
      ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof(text));
      port = ntohs(a.sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
      ::inet_ntop(AF_INET6, &a.sin6_addr, text, sizeof(text));
      port = ntohs(a.sin6_port);
    }
  }
  ip = text;
}

int poll_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

}  // namespace

connection_stream::connection_stream(int fd, int read_timeout_ms, int write_timeout_ms)
  : fd_(fd), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {}

int connection_stream::poll_in(int timeout_ms) const { return poll_fd(fd_, POLLIN, timeout_ms); }

bool connection_stream::is_readable() const {
  return rpos_ < rlen_ || poll_in(read_timeout_ms_) > 0;
}

bool connection_stream::alive() const {
  if (rpos_ < rlen_) return true;
  if (poll_in(0) <= 0) return true;  // nothing to read: no EOF either
  char c;
  ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

bool connection_stream::is_writable() const {
  // cpp-httplib asks before every call of a streamed body's provider: the header block
  // (and so the start of an event stream) leaves now, not when the provider next writes.
  return flush() && poll_fd(fd_, POLLOUT, write_timeout_ms_) > 0 && alive();
}

ssize_t connection_stream::recv_some(char* ptr, size_t size) const {
  for (;;) {
    ssize_t n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
    if (poll_in(read_timeout_ms_) <= 0) return -1;  // the client went silent
  }
}

ssize_t connection_stream::read(char* ptr, size_t size) {
  if (rpos_ < rlen_) {
    size_t n = std::min(size, rlen_ - rpos_);
    std::memcpy(ptr, rbuf_.data() + rpos_, n);
    rpos_ += n;
    return static_cast<ssize_t>(n);
  }
  if (!flush()) return -1;  // e.g. "100 Continue" before the body is read
  if (size >= read_buffer_bytes) return recv_some(ptr, size);
  if (rbuf_.empty()) rbuf_.resize(read_buffer_bytes);
  ssize_t got = recv_some(rbuf_.data(), rbuf_.size());
  if (got <= 0) return got;
  rlen_ = static_cast<size_t>(got);
  size_t n = std::min(size, rlen_);
  std::memcpy(ptr, rbuf_.data(), n);
  rpos_ = n;
  return static_cast<ssize_t>(n);
}

bool connection_stream::send_all(iovec* iov, int count) const {
  msghdr msg{};
  while (count > 0) {
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(count);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      if (poll_fd(fd_, POLLOUT, write_timeout_ms_) <= 0) return false;  // the client stopped reading
      continue;
    }
    auto left = static_cast<size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

bool connection_stream::flush() const {
  if (held_.empty()) return true;
  iovec iov{held_.data(), held_.size()};
  bool ok = send_all(&iov, 1);
  held_.clear();
  return ok;
}

ssize_t connection_stream::write(const char* ptr, size_t size) {
  if (held_.empty() && is_header_block(ptr, size)) {
    held_.assign(ptr, size);
    // An answer that closes the connection (e.g. 413 before the body was read): whatever
    // the client still sends must not be taken for its next request.
    if (held_.find("\r\nConnection: close\r\n") != std::string::npos) closing_ = true;
    return static_cast<ssize_t>(size);
  }
  iovec iov[2];
  int count = 0;
  if (!held_.empty()) iov[count++] = {held_.data(), held_.size()};
  iov[count++] = {const_cast<char*>(ptr), size};
  bool ok = send_all(iov, count);
  held_.clear();
  return ok ? static_cast<ssize_t>(size) : -1;
}

void connection_stream::linger() const {
  // Closing a socket with unread input sends a reset, and a reset can destroy the answer
  // before the client has read it. So: end our side, then read and drop what the client
  // still sends, for a bounded time and amount (a "lingering close", as nginx does).
  ::shutdown(fd_, SHUT_WR);
  char sink[16384];
  size_t dropped = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(linger_ms);
  while (dropped < linger_bytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0 || poll_in(static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(fd_, sink, sizeof(sink), MSG_DONTWAIT);
    if (n <= 0) break;
    dropped += static_cast<size_t>(n);
  }
}

void connection_stream::get_remote_ip_and_port(std::string& ip, int& port) const {
  address_of(fd_, ::getpeername, ip, port);
}

void connection_stream::get_local_ip_and_port(std::string& ip, int& port) const {
  address_of(fd_, ::getsockname, ip, port);
}

bool connection_server::process_and_close_socket(socket_t sock) {
  auto ms = [](time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); };
  connection_stream strm{sock, ms(read_timeout_sec_, read_timeout_usec_),
                         ms(write_timeout_sec_, write_timeout_usec_)};
  bool ret = false;
  auto stopped = [this] { return svr_sock_ == INVALID_SOCKET; };
  for (size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!strm.wait_for_request(static_cast<int>(keep_alive_timeout_sec_ * 1000), stopped)) break;
    bool connection_closed = false;
    ret = process_request(strm, left == 1, connection_closed, nullptr);
    ret = strm.flush() && ret;
    if (!ret || connection_closed || strm.closing()) break;
  }
  if (strm.closing()) strm.linger();
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace jobserver::http
