#include "persistence/job_queue.hpp"

#include "config/errors.hpp"
#include "persistence/redis.hpp"

namespace jobserver::persistence {
namespace {

// Shared by every script. KEYS[1] is the queue's base, "{prefix:type}".
//   :m:<id>            hash: owner prio max attempts state(queued|active|delayed) token node stalls cancel
//   :q:<prio>:<owner>  list of waiting job ids (FIFO)
//   :ring:<prio>       list of owners with waiting jobs at that priority (round-robin)
//   :prio              zset of priority levels that have waiting jobs
//   :run               hash owner -> running jobs
//   :leases            zset id -> lease deadline (ms)
//   :delayed           zset id -> time it may run again (ms)
//   :seq               the last fencing token handed out
constexpr const char* prelude = R"lua(
local base = KEYS[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fmt(x) return string.format('%d', x) end
local function next_token()
  local t = redis.call('TIME')
  local tok = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('GET', base .. ':seq') or '0')
  if tok <= last then tok = last + 1 end
  redis.call('SET', base .. ':seq', fmt(tok))
  return tok
end
-- Tokens for a batch: the first from next_token, the rest counted up from it in the
-- script, and :seq written once at the end (finish_tokens). Still strictly increasing.
local batch_token = nil
local function take_token()
  if batch_token then batch_token = batch_token + 1 else batch_token = next_token() end
  return batch_token
end
local function finish_tokens()
  if batch_token then redis.call('SET', base .. ':seq', fmt(batch_token)) end
end
-- Puts a job whose hash holds `owner` and `prio` in its owner's queue. `known` (optional)
-- is a table a caller keeps across one script run: queues already known to be non-empty
-- and priority levels already registered, so those calls are not repeated.
local function push_as(id, owner, prio, front, known)
  known = known or {}
  local q = base .. ':q:' .. prio .. ':' .. owner
  if not known[q] then
    if redis.call('LLEN', q) == 0 then redis.call('RPUSH', base .. ':ring:' .. prio, owner) end
    known[q] = true
  end
  if front then redis.call('LPUSH', q, id) else redis.call('RPUSH', q, id) end
  if not known[prio] then
    redis.call('ZADD', base .. ':prio', prio, prio)
    known[prio] = true
  end
end
local function push(id, front)
  local m = base .. ':m:' .. id
  local f = redis.call('HMGET', m, 'owner', 'prio')
  push_as(id, f[1], f[2], front)
  redis.call('HSET', m, 'state', 'queued')
end
-- release_as / unqueue_as take the job's state, owner and prio as read by the caller.
local function release_as(id, state, owner)
  redis.call('ZREM', base .. ':leases', id)
  if state == 'active' then
    if redis.call('HINCRBY', base .. ':run', owner, -1) <= 0 then
      redis.call('HDEL', base .. ':run', owner)
    end
  end
end
local function unqueue_as(id, state, owner, prio)
  if state == 'queued' then
    local q = base .. ':q:' .. prio .. ':' .. owner
    redis.call('LREM', q, 1, id)
    if redis.call('LLEN', q) == 0 then redis.call('LREM', base .. ':ring:' .. prio, 0, owner) end
  elseif state == 'delayed' then
    redis.call('ZREM', base .. ':delayed', id)
  end
end
local function release(id, m)
  local f = redis.call('HMGET', m, 'state', 'owner')
  release_as(id, f[1], f[2])
end
local function unqueue(id, m)
  local f = redis.call('HMGET', m, 'state', 'owner', 'prio')
  unqueue_as(id, f[1], f[2], f[3])
end
local function stall(id, max_stalls, out, handed_back)
  local m = base .. ':m:' .. id
  if redis.call('EXISTS', m) == 0 then
    redis.call('ZREM', base .. ':leases', id)
    return
  end
  release(id, m)
  local stalls = 0
  if not handed_back then stalls = redis.call('HINCRBY', m, 'stalls', 1) end
  local tok = next_token()
  redis.call('HSET', m, 'token', fmt(tok), 'node', '')
  local failed = 0
  if stalls > max_stalls then
    failed = 1
    redis.call('DEL', m)
  else
    push(id, true)
  end
  out[#out + 1] = {id, fmt(tok), failed}
end
)lua";

// ARGV: id owner prio max attempts min_token  (repeated)
constexpr const char* enqueue_lua = R"lua(
local added = 0
local known = {}
local last = tonumber(redis.call('GET', base .. ':seq') or '0')
local top = nil
for i = 1, #ARGV, 6 do
  local id = ARGV[i]
  local m = base .. ':m:' .. id
  if redis.call('EXISTS', m) == 0 then
    local owner, prio = ARGV[i + 1], ARGV[i + 2]
    redis.call('HSET', m, 'owner', owner, 'prio', prio, 'max', ARGV[i + 3],
               'attempts', ARGV[i + 4], 'token', ARGV[i + 5], 'stalls', 0, 'state', 'queued')
    if tonumber(ARGV[i + 5]) > last then
      last = tonumber(ARGV[i + 5])
      top = ARGV[i + 5]
    end
    push_as(id, owner, prio, false, known)
    added = added + 1
  end
end
if top then redis.call('SET', base .. ':seq', top) end
return added
)lua";

// ARGV: node count lease_ms per_user_limit
constexpr const char* claim_lua = R"lua(
local node, n, lease_ms, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', base .. ':delayed', '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', base .. ':delayed', id)
  if redis.call('EXISTS', base .. ':m:' .. id) == 1 then push(id, false) end
end
local out = {}
local prios = redis.call('ZREVRANGE', base .. ':prio', 0, -1)
for _, p in ipairs(prios) do
  local ring = base .. ':ring:' .. p
  local idle = 0
  while #out < n do
    local len = redis.call('LLEN', ring)
    if len == 0 or idle >= len then break end
    local user = redis.call('LMOVE', ring, ring, 'LEFT', 'RIGHT')
    local q = base .. ':q:' .. p .. ':' .. user
    local running = tonumber(redis.call('HGET', base .. ':run', user) or '0')
    local id = false
    if running < limit then id = redis.call('LPOP', q) end
    if id then
      idle = 0
      local m = base .. ':m:' .. id
      if redis.call('EXISTS', m) == 1 then
        local tok = take_token()
        local attempts = redis.call('HINCRBY', m, 'attempts', 1)
        redis.call('HSET', m, 'state', 'active', 'node', node, 'token', fmt(tok))
        redis.call('HINCRBY', base .. ':run', user, 1)
        redis.call('ZADD', base .. ':leases', now + lease_ms, id)
        out[#out + 1] = {id, user, fmt(tok), attempts}
      end
    else
      idle = idle + 1
    end
    if redis.call('LLEN', q) == 0 then redis.call('LREM', ring, 0, user) end
  end
  if redis.call('LLEN', ring) == 0 then redis.call('ZREM', base .. ':prio', p) end
  if #out >= n then break end
end
finish_tokens()
return out
)lua";

// ARGV: lease_ms id token id token ...
constexpr const char* heartbeat_lua = R"lua(
local deadline = now_ms() + tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local f = redis.call('HMGET', base .. ':m:' .. id, 'token', 'state', 'cancel')
  if f[1] == ARGV[i + 1] and f[2] == 'active' then
    redis.call('ZADD', base .. ':leases', deadline, id)
    if f[3] == '1' then out[#out + 1] = 2 else out[#out + 1] = 1 end
  else
    out[#out + 1] = 0
  end
end
return out
)lua";

// ARGV: id token id token ...  One call settles a whole batch; 1 per id whose token held.
constexpr const char* ack_lua = R"lua(
local out = {}
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local m = base .. ':m:' .. id
  local f = redis.call('HMGET', m, 'token', 'state', 'owner', 'prio')
  if f[1] == ARGV[i + 1] then
    release_as(id, f[2], f[3])
    unqueue_as(id, f[2], f[3], f[4])
    redis.call('DEL', m)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
)lua";

// ARGV: id token delay_ms
constexpr const char* retry_lua = R"lua(
local id = ARGV[1]
local m = base .. ':m:' .. id
if redis.call('HGET', m, 'token') ~= ARGV[2] or redis.call('HGET', m, 'state') ~= 'active' then
  return 0
end
release(id, m)
redis.call('HSET', m, 'state', 'delayed', 'node', '')
redis.call('ZADD', base .. ':delayed', now_ms() + tonumber(ARGV[3]), id)
return 1
)lua";

// ARGV: max_stalls limit
constexpr const char* reap_lua = R"lua(
local out = {}
local ids = redis.call('ZRANGEBYSCORE', base .. ':leases', '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do stall(id, tonumber(ARGV[1]), out) end
return out
)lua";

// ARGV: node max_stalls handed_back(0|1)
constexpr const char* requeue_node_lua = R"lua(
local out = {}
for _, id in ipairs(redis.call('ZRANGE', base .. ':leases', 0, -1)) do
  if redis.call('HGET', base .. ':m:' .. id, 'node') == ARGV[1] then
    stall(id, tonumber(ARGV[2]), out, ARGV[3] == '1')
  end
end
return out
)lua";

// ARGV: id
constexpr const char* remove_lua = R"lua(
local id = ARGV[1]
local m = base .. ':m:' .. id
local state = redis.call('HGET', m, 'state')
if not state then return 0 end
if state == 'active' then
  redis.call('HSET', m, 'cancel', '1')
  return 2
end
unqueue(id, m)
redis.call('DEL', m)
return 1
)lua";

// ARGV: id
constexpr const char* forget_lua = R"lua(
local id = ARGV[1]
local m = base .. ':m:' .. id
if redis.call('EXISTS', m) == 1 then
  release(id, m)
  unqueue(id, m)
  redis.call('DEL', m)
end
redis.call('ZREM', base .. ':leases', id)
redis.call('ZREM', base .. ':delayed', id)
return 1
)lua";

struct script {
  std::string source;
  std::string sha;
  explicit script(const char* body) : source(std::string{prelude} + body), sha(script_sha1(source)) {}
};

const script& s_enqueue() { static const script s{enqueue_lua}; return s; }
const script& s_claim() { static const script s{claim_lua}; return s; }
const script& s_heartbeat() { static const script s{heartbeat_lua}; return s; }
const script& s_ack() { static const script s{ack_lua}; return s; }
const script& s_retry() { static const script s{retry_lua}; return s; }
const script& s_reap() { static const script s{reap_lua}; return s; }
const script& s_requeue_node() { static const script s{requeue_node_lua}; return s; }
const script& s_remove() { static const script s{remove_lua}; return s; }
const script& s_forget() { static const script s{forget_lua}; return s; }

redis_reply run(redis_client& r, const script& s, const std::string& base,
                const std::vector<std::string>& args) {
  auto reply = r.eval(s.source, s.sha, {base}, args);
  if (reply.type == redis_reply::kind::error)
    throw app_error(errc::unavailable, "queue script failed: " + reply.str, true);
  return reply;
}

int64_t to_int64(const redis_reply& r) {
  if (r.type == redis_reply::kind::integer) return r.integer;
  try {
    return std::stoll(r.str);
  } catch (const std::exception&) {
    throw app_error(errc::internal, "unexpected queue reply");
  }
}

std::vector<stalled_job> to_stalled(const redis_reply& reply) {
  std::vector<stalled_job> out;
  for (const auto& e : reply.elements) {
    if (e.elements.size() != 3) continue;
    out.push_back({e.elements[0].str, to_int64(e.elements[1]), to_int64(e.elements[2]) == 1});
  }
  return out;
}

}  // namespace

job_queue::job_queue(std::string prefix, std::string type)
  : base_("{" + prefix + ":" + type + "}"), type_(std::move(type)) {}

std::vector<std::vector<std::string>> job_queue::enqueue_commands(
    const std::vector<queue_entry>& jobs) const {
  // Scripts are sent whole with EVAL here, so a pipeline never meets NOSCRIPT.
  std::vector<std::vector<std::string>> out;
  constexpr size_t chunk = 200;
  for (size_t i = 0; i < jobs.size(); i += chunk) {
    std::vector<std::string> argv{"EVAL", s_enqueue().source, "1", base_};
    for (size_t k = i; k < std::min(jobs.size(), i + chunk); ++k) {
      const auto& j = jobs[k];
      argv.insert(argv.end(), {j.id, j.owner_id, std::to_string(j.priority),
                               std::to_string(j.max_attempts), std::to_string(j.attempts),
                               std::to_string(j.min_token)});
    }
    out.push_back(std::move(argv));
  }
  return out;
}

int job_queue::enqueue(redis_client& redis, const std::vector<queue_entry>& jobs) const {
  int added = 0;
  for (auto& r : redis.pipeline(enqueue_commands(jobs))) {
    if (r.type == redis_reply::kind::error)
      throw app_error(errc::unavailable, "queue script failed: " + r.str, true);
    added += static_cast<int>(r.integer);
  }
  return added;
}

std::vector<claimed_job> job_queue::claim(redis_client& redis, const std::string& node, int count,
                                          int lease_ms, int per_user_limit) const {
  auto reply = run(redis, s_claim(), base_,
                   {node, std::to_string(count), std::to_string(lease_ms),
                    std::to_string(per_user_limit)});
  std::vector<claimed_job> out;
  for (const auto& e : reply.elements) {
    if (e.elements.size() != 4) continue;
    out.push_back({e.elements[0].str, e.elements[1].str, type_, to_int64(e.elements[2]),
                   static_cast<int>(to_int64(e.elements[3]))});
  }
  return out;
}

std::vector<lease_state> job_queue::heartbeat(
    redis_client& redis, const std::vector<std::pair<std::string, int64_t>>& leases,
    int lease_ms) const {
  if (leases.empty()) return {};
  std::vector<std::string> args{std::to_string(lease_ms)};
  for (const auto& [id, token] : leases) {
    args.push_back(id);
    args.push_back(std::to_string(token));
  }
  auto reply = run(redis, s_heartbeat(), base_, args);
  std::vector<lease_state> out;
  for (const auto& e : reply.elements) out.push_back(static_cast<lease_state>(e.integer));
  out.resize(leases.size(), lease_state::lost);
  return out;
}

std::vector<bool> job_queue::settle(redis_client& redis,
                                    const std::vector<settlement>& runs) const {
  std::vector<bool> out(runs.size(), false);
  // Acks: one script call per chunk of the batch. Retries (rare): one call each, pipelined.
  constexpr size_t chunk = 500;
  std::vector<std::string> acks;
  std::vector<size_t> ack_at;
  auto flush_acks = [&] {
    if (ack_at.empty()) return;
    auto reply = run(redis, s_ack(), base_, acks);
    for (size_t k = 0; k < ack_at.size() && k < reply.elements.size(); ++k)
      out[ack_at[k]] = reply.elements[k].integer == 1;
    acks.clear();
    ack_at.clear();
  };
  std::vector<std::vector<std::string>> retries;
  std::vector<size_t> retry_at;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    if (r.retry) {
      retries.push_back({base_, r.id, std::to_string(r.token), std::to_string(r.delay_ms)});
      retry_at.push_back(i);
    } else {
      acks.push_back(r.id);
      acks.push_back(std::to_string(r.token));
      ack_at.push_back(i);
      if (ack_at.size() == chunk) flush_acks();
    }
  }
  flush_acks();
  if (!retries.empty()) {
    auto replies = redis.eval_many(s_retry().source, s_retry().sha, retries, 1);
    for (size_t k = 0; k < replies.size(); ++k) {
      if (replies[k].type == redis_reply::kind::error)
        throw app_error(errc::unavailable, "queue script failed: " + replies[k].str, true);
      out[retry_at[k]] = replies[k].integer == 1;
    }
  }
  return out;
}

bool job_queue::ack(redis_client& redis, const std::string& id, int64_t token) const {
  auto reply = run(redis, s_ack(), base_, {id, std::to_string(token)});
  return !reply.elements.empty() && reply.elements[0].integer == 1;
}

bool job_queue::retry_later(redis_client& redis, const std::string& id, int64_t token,
                            int64_t delay_ms) const {
  return run(redis, s_retry(), base_, {id, std::to_string(token), std::to_string(delay_ms)})
             .integer == 1;
}

std::vector<stalled_job> job_queue::reap(redis_client& redis, int max_stalls, int limit) const {
  return to_stalled(
      run(redis, s_reap(), base_, {std::to_string(max_stalls), std::to_string(limit)}));
}

std::vector<stalled_job> job_queue::requeue_node(redis_client& redis, const std::string& node,
                                                 int max_stalls, bool handed_back) const {
  return to_stalled(run(redis, s_requeue_node(), base_,
                        {node, std::to_string(max_stalls), handed_back ? "1" : "0"}));
}

int job_queue::remove(redis_client& redis, const std::string& id) const {
  return static_cast<int>(run(redis, s_remove(), base_, {id}).integer);
}

void job_queue::forget(redis_client& redis, const std::string& id) const {
  run(redis, s_forget(), base_, {id});
}

std::vector<bool> job_queue::known(redis_client& redis, const std::vector<std::string>& ids) const {
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(ids.size());
  for (const auto& id : ids) cmds.push_back({"EXISTS", base_ + ":m:" + id});
  std::vector<bool> out;
  for (const auto& r : redis.pipeline(cmds)) out.push_back(r.integer == 1);
  return out;
}

long long job_queue::leased(redis_client& redis) const {
  return redis.command({"ZCARD", base_ + ":leases"}).integer;
}

long long job_queue::delayed(redis_client& redis) const {
  return redis.command({"ZCARD", base_ + ":delayed"}).integer;
}

}  // namespace jobserver::persistence
