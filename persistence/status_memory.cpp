#include "persistence/status_memory.hpp"

#include <functional>
#include <iterator>

namespace jobserver::persistence {

status_memory::status_memory(size_t capacity, std::chrono::milliseconds ttl)
  : per_shard_(capacity == 0 ? 0 : std::max<size_t>(1, capacity / shard_count)), ttl_(ttl) {}

status_memory::shard& status_memory::shard_of(const std::string& id) {
  return shards_[std::hash<std::string>{}(id) % shard_count];
}

std::optional<status_memory::entry> status_memory::get(const std::string& id) {
  if (per_shard_ == 0 || !enabled()) return std::nullopt;
  auto& sh = shard_of(id);
  std::lock_guard<std::mutex> guard{sh.mutex};
  auto i = sh.slots.find(id);
  if (i == sh.slots.end() || i->second.ticket != 0 || clock::now() - i->second.stored >= ttl_) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  hits_.fetch_add(1, std::memory_order_relaxed);
  return i->second.value;
}

uint64_t status_memory::begin_fill(const std::string& id) {
  if (per_shard_ == 0 || !enabled()) return 0;
  auto ticket = next_ticket_.fetch_add(1, std::memory_order_relaxed);
  auto& sh = shard_of(id);
  std::lock_guard<std::mutex> guard{sh.mutex};
  auto now = clock::now();
  auto i = sh.slots.find(id);
  if (i == sh.slots.end()) {
    // Entries past their time are of no use: sweep them now and then, and whenever the
    // shard is full, so memory follows what was read lately, not what was ever read.
    if (++sh.inserts % 256 == 0 || sh.slots.size() >= per_shard_) {
      for (auto k = sh.slots.begin(); k != sh.slots.end();)
        k = now - k->second.stored >= ttl_ ? sh.slots.erase(k) : std::next(k);
    }
    // Still full: drop any one entry (a popular status comes back on its next read).
    if (sh.slots.size() >= per_shard_) sh.slots.erase(sh.slots.begin());
    i = sh.slots.emplace(id, slot{}).first;
  }
  i->second.ticket = ticket;  // a later reader's ticket replaces an earlier one's
  i->second.stored = now;
  return ticket;
}

void status_memory::fill(const std::string& id, uint64_t ticket, std::string owner,
                         std::string json) {
  if (ticket == 0) return;
  auto& sh = shard_of(id);
  std::lock_guard<std::mutex> guard{sh.mutex};
  auto i = sh.slots.find(id);
  if (i == sh.slots.end() || i->second.ticket != ticket) return;  // invalidated meanwhile
  i->second.ticket = 0;
  i->second.stored = clock::now();
  i->second.value = {std::move(owner), std::move(json)};
}

void status_memory::invalidate(const std::string& id) {
  if (per_shard_ == 0) return;
  auto& sh = shard_of(id);
  std::lock_guard<std::mutex> guard{sh.mutex};
  sh.slots.erase(id);
}

void status_memory::invalidate_all() {
  for (auto& sh : shards_) {
    std::lock_guard<std::mutex> guard{sh.mutex};
    sh.slots.clear();
  }
}

void status_memory::set_enabled(bool on) {
  if (!on) {
    enabled_.store(false, std::memory_order_release);
    invalidate_all();  // fills that were pending find no ticket
  } else {
    invalidate_all();
    enabled_.store(true, std::memory_order_release);
  }
}

size_t status_memory::size() const {
  size_t n = 0;
  for (const auto& sh : shards_) {
    std::lock_guard<std::mutex> guard{sh.mutex};
    for (const auto& [id, s] : sh.slots)
      if (s.ticket == 0) ++n;
  }
  return n;
}

}  // namespace jobserver::persistence
