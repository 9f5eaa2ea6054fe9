#include "http/stream_pool.hpp"

#include <thread>

#include "config/log.hpp"

namespace jobserver::http {
namespace {
thread_local stream_pool* current_pool = nullptr;
thread_local bool detached = false;
}  // namespace

stream_pool::stream_pool(size_t workers, size_t max_streams) : max_streams_(max_streams) {
  std::lock_guard<std::mutex> guard{mutex_};
  for (size_t i = 0; i < workers; ++i) spawn_worker();
}

stream_pool::~stream_pool() { shutdown(); }

void stream_pool::spawn_worker() {
  ++live_;
  std::thread([this] { work(); }).detach();
}

void stream_pool::work() {
  current_pool = this;
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock{mutex_};
      cv_.wait(lock, [&] { return shutdown_ || !jobs_.empty(); });
      if (shutdown_ && jobs_.empty()) break;
      fn = std::move(jobs_.front());
      jobs_.pop_front();
    }
    fn();
    if (detached) {  // this connection was a stream; its replacement already works
      std::lock_guard<std::mutex> guard{mutex_};
      --streams_;
      break;
    }
  }
  std::lock_guard<std::mutex> guard{mutex_};
  --live_;
  done_cv_.notify_all();
}

void stream_pool::enqueue(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    jobs_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void stream_pool::shutdown() {
  std::unique_lock<std::mutex> lock{mutex_};
  shutdown_ = true;
  cv_.notify_all();
  // Threads reference this pool until they end; open streams were ended by the server.
  if (!done_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return live_ == 0; }))
    logger("http")->warn("{} HTTP thread(s) still busy at shutdown", live_);
}

bool stream_pool::detach_current_thread() {
  stream_pool* pool = current_pool;
  if (pool == nullptr || detached) return false;
  std::lock_guard<std::mutex> guard{pool->mutex_};
  if (pool->streams_ >= pool->max_streams_ || pool->shutdown_) return false;
  ++pool->streams_;
  detached = true;
  pool->spawn_worker();
  return true;
}

}  // namespace jobserver::http
