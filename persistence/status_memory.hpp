#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace jobserver::persistence {

/// The node's in-memory copy of job statuses it has recently read from Redis, so that a
/// status asked for again (a poll every 2 s, a dashboard) is answered without a Redis
/// round trip. It is kept right by Redis itself: the node's event subscriber turns on
/// server-assisted tracking of every `<prefix>:job:` key, and Redis tells it of each
/// write, deletion or expiry of such a key on any node; the entry is dropped at once.
///
/// Rules that keep it from ever answering with an older state than Redis holds:
/// - it is used only while that subscriber is connected and tracking (`set_enabled`);
///   losing the connection empties it, since invalidations may have been missed;
/// - a read from Redis fills an entry only through a ticket taken *before* the read
///   (`begin_fill`); an invalidation meanwhile removes the ticket and the fill is dropped;
/// - this node's own writers drop their entries as soon as they have written Redis, so
///   a client that changes a job and then reads it through this node sees its change;
/// - every entry expires after `ttl` whatever happens, bounding staleness in any failure
///   this reasoning missed.
class status_memory {
 public:
  struct entry {
    std::string owner;
    std::string json;
  };

  /// `capacity` 0 turns it off. Entries older than `ttl` are neither answered nor kept.
  status_memory(size_t capacity, std::chrono::milliseconds ttl);

  /// The entry of `id`, when there is a current one.
  std::optional<entry> get(const std::string& id);
  /// Before reading `id` from Redis: a ticket for `fill`, 0 when not to fill.
  uint64_t begin_fill(const std::string& id);
  /// Stores what Redis answered for `id`, unless it was invalidated since `ticket`.
  void fill(const std::string& id, uint64_t ticket, std::string owner, std::string json);

  void invalidate(const std::string& id);
  void invalidate_all();
  /// Off (and emptied) while invalidations cannot be received.
  void set_enabled(bool on);
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }

  size_t size() const;
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }

 private:
  using clock = std::chrono::steady_clock;
  struct slot {
    uint64_t ticket = 0;  // != 0 while a fill is pending
    clock::time_point stored{};  // when filled (or, while pending, when the read began)
    entry value;
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, slot> slots;
    uint64_t inserts = 0;
  };
  static constexpr size_t shard_count = 16;

  shard& shard_of(const std::string& id);

  size_t per_shard_;
  std::chrono::milliseconds ttl_;
  std::array<shard, shard_count> shards_;
  std::atomic<bool> enabled_{false};
  std::atomic<uint64_t> next_ticket_{1};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
};

}  // namespace jobserver::persistence
