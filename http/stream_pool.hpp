#pragma once

#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace jobserver::http {

/// cpp-httplib's task queue with room for long-lived streams. `workers` threads serve
/// connections as the stock ThreadPool does; a handler that answers with a stream
/// (Server-Sent Events) calls `detach_current_thread()`: its thread leaves the pool for
/// as long as that connection lives, and a new worker takes its place at once. Open
/// streams therefore never take the threads that ordinary requests need; they are
/// counted and capped separately (`max_streams`).
class stream_pool : public httplib::TaskQueue {
 public:
  stream_pool(size_t workers, size_t max_streams);
  ~stream_pool() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  /// On a thread of a stream_pool: moves it out of the pool and starts a replacement.
  /// False when the cap on streams is reached (or the caller is not a pool thread).
  static bool detach_current_thread();

 private:
  void spawn_worker();  // with mutex_ held
  void work();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::deque<std::function<void()>> jobs_;
  size_t max_streams_;
  size_t streams_ = 0;
  size_t live_ = 0;
  bool shutdown_ = false;
};

}  // namespace jobserver::http
