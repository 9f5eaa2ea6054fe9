#pragma once

#include <httplib.h>

#include <string>
#include <sys/uio.h>
#include <vector>

namespace jobserver::http {

/// One client connection, as cpp-httplib's request code reads and writes it. It replaces
/// cpp-httplib 0.11's own socket stream, which costs two or three system calls per 4 KB
/// read and per write (a poll before every recv and send, a fresh stream per request),
/// and that is where a small request and a large upload spent most of their time:
/// - reads are buffered 64 KB at a time and kept across the requests of a keep-alive
///   connection; recv is tried first and poll() only runs when nothing is there yet;
/// - a response's header block is held back and sent with the first body bytes in one
///   sendmsg(), so a small answer leaves in one segment; the header block alone is sent
///   before the next read, before a streamed body's provider runs (is_writable) and at the
///   end of the request;
/// - read and write timeouts are those of the server (a silent client is dropped).
class connection_stream final : public httplib::Stream {
 public:
  connection_stream(int fd, int read_timeout_ms, int write_timeout_ms);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return fd_; }

  /// Sends a held-back header block; false when the connection failed.
  bool flush() const;
  /// Whether an answer said `Connection: close` (the connection ends after it).
  bool closing() const { return closing_; }
  /// Before closing with input possibly unread: ends the sending side and drops what
  /// arrives for up to 2 s / 64 MB, so the answer is not lost to a reset.
  void linger() const;
  /// Waits until a request's first bytes are there (true), the peer closed or failed
  /// (true: reading then fails), `timeout_ms` passed or `stop()` says so (false).
  template <typename Stop>
  bool wait_for_request(int timeout_ms, Stop&& stop) const {
    for (int waited = 0; waited < timeout_ms; waited += slice_ms) {
      if (stop()) return false;
      if (rpos_ < rlen_ || poll_in(std::min(slice_ms, timeout_ms - waited)) != 0) return true;
    }
    return false;
  }

 private:
  static constexpr int slice_ms = 100;  // how soon an idle connection sees the server stop
  static constexpr int linger_ms = 2000;
  static constexpr size_t linger_bytes = 64u << 20;

  int poll_in(int timeout_ms) const;
  bool send_all(iovec* iov, int count) const;
  ssize_t recv_some(char* ptr, size_t size) const;
  bool alive() const;

  int fd_;
  int read_timeout_ms_;
  int write_timeout_ms_;
  mutable std::vector<char> rbuf_;
  mutable size_t rpos_ = 0;
  mutable size_t rlen_ = 0;
  mutable std::string held_;  // a response's header block, not yet sent
  bool closing_ = false;
};

/// cpp-httplib's server with its connections served by connection_stream. The keep-alive
/// loop is cpp-httplib's (the same count, timeout and stop rule) without its 1 ms sleep
/// polling; requests are still parsed, routed and answered by cpp-httplib.
class connection_server final : public httplib::Server {
 private:
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace jobserver::http
