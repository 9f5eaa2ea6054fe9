// Server-Sent Events of jobs. A stream subscribes to its jobs in the node's event hub
// first, then sends each job's snapshot (or, with Last-Event-ID, the events the client
// missed), then every event as it arrives, and ends once every job is finished.
//
// Event ids: each job's events are numbered by Redis (persistence/job_events.hpp); the
// single-job stream's id is that number, the multi-job stream's id is the numbers of
// its jobs joined by '.', in the order of `ids`. A client that resumes with an id older
// than the kept events (or one that cannot be read) is sent a fresh snapshot instead.
#include "http/event_routes.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <sstream>

#include "actors/node.hpp"
#include "config/errors.hpp"
#include "config/log.hpp"
#include "http/errors.hpp"
#include "http/request.hpp"
#include "http/stream_pool.hpp"
#include "persistence/job.hpp"

namespace jobserver::http {
namespace {

using persistence::job_event;

constexpr size_t max_stream_ids = 100;

struct tracked_job {
  std::string id;
  int64_t seq = 0;
  bool terminal = false;
};

bool is_terminal_json(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (!d.IsObject() || !d.HasMember("status") || !d["status"].IsString()) return false;
  std::string s = d["status"].GetString();
  return s == persistence::status::completed || s == persistence::status::failed;
}

/// One open stream: its jobs, where each stands, and the text waiting to be written.
class event_stream {
 public:
  event_stream(actors::node& node, std::string owner, std::vector<std::string> ids)
    : node_(node), owner_(std::move(owner)), ids_(std::move(ids)) {
    inbox_ = node_.events().subscribe(ids_);
  }
  ~event_stream() { node_.events().unsubscribe(inbox_, ids_); }

  /// Reads the snapshots (or replays after `last_event_id`); drops jobs `owner` cannot
  /// see. Returns how many jobs the stream follows.
  size_t open(const std::string& last_event_id) {
    auto resume = parse_last_id(last_event_id);
    for (size_t i = 0; i < ids_.size(); ++i) {
      tracked_job t{ids_[i]};
      bool owned = true;
      if (resume && resume->size() == ids_.size()) {
        t.seq = (*resume)[i];
        owned = node_.job_snapshot(owner_, t.id).has_value();
        if (owned) resume_jobs_.push_back(jobs_.size());
      } else {
        owned = snapshot(t);
      }
      if (owned) jobs_.push_back(std::move(t));
    }
    for (size_t k : resume_jobs_) catch_up(jobs_[k]);
    return jobs_.size();
  }

  bool finished() const {
    return std::all_of(jobs_.begin(), jobs_.end(), [](const tracked_job& t) { return t.terminal; });
  }

  /// Waits for events (at most `heartbeat`); false once the stream should end.
  bool next(std::chrono::milliseconds heartbeat) {
    if (finished()) return false;
    std::vector<job_event> events;
    bool resync = false;
    if (!inbox_->wait(heartbeat, events, resync)) return false;  // server stopping
    if (resync)
      for (auto& t : jobs_) catch_up(t);
    for (auto& e : events) {
      auto t = std::find_if(jobs_.begin(), jobs_.end(), [&](const tracked_job& j) { return j.id == e.job_id; });
      if (t == jobs_.end() || t->terminal || e.seq <= t->seq) continue;
      if (e.seq == t->seq + 1) emit(*t, e.type, e.data, e.seq);
      else catch_up(*t);  // a gap: events were lost on the way
    }
    if (events.empty() && !resync && out_.empty()) out_ = ": heartbeat\n\n";
    return true;
  }

  std::string take() { return std::move(out_); }

 private:
  std::optional<std::vector<int64_t>> parse_last_id(const std::string& s) {
    if (s.empty() || s.size() > 2048) return std::nullopt;
    std::vector<int64_t> out;
    std::stringstream in(s);
    std::string part;
    while (std::getline(in, part, '.')) {
      if (part.empty() || part.size() > 18 || !std::all_of(part.begin(), part.end(), ::isdigit))
        return std::nullopt;
      out.push_back(std::stoll(part));
    }
    return out;
  }

  /// The job's current state as a `snapshot` event; false when `owner` cannot see it.
  bool snapshot(tracked_job& t) {
    int64_t seq = 0;
    try {
      seq = node_.event_log(t.id).seq;  // read before the job: a later event is not lost
    } catch (const app_error&) {
      // Redis down: the snapshot comes from Postgres; events resume when Redis is back.
    }
    auto json = node_.job_snapshot(owner_, t.id);
    if (!json) return false;
    t.seq = seq;
    t.terminal = is_terminal_json(*json);
    write_event("snapshot", *json, seq_id_after(t, seq));
    return true;
  }

  /// Sends what `t` missed since `t.seq` from the kept events, or a fresh snapshot when
  /// they no longer reach back that far.
  void catch_up(tracked_job& t) {
    persistence::event_log log;
    try {
      log = node_.event_log(t.id);
    } catch (const app_error&) {
      return;  // Redis down: the subscriber resyncs every stream when it returns
    }
    bool reaches = !log.events.empty() && log.events.front().seq <= t.seq + 1;
    if (log.seq == t.seq && !log.events.empty() && log.events.back().seq == t.seq)
      t.terminal = log.events.back().terminal();
    if (log.seq == t.seq) {
      if (log.events.empty())  // nothing kept (expired): the job itself says if it is over
        if (auto json = node_.job_snapshot(owner_, t.id)) t.terminal = is_terminal_json(*json);
      return;
    }
    if (log.seq > t.seq && reaches) {
      for (const auto& e : log.events)
        if (e.seq > t.seq && !t.terminal) emit(t, e.type, e.data, e.seq);
      return;
    }
    snapshot(t);
  }

  void emit(tracked_job& t, const std::string& type, const std::string& data, int64_t seq) {
    t.terminal = t.terminal || type == "completed" || type == "failed";
    write_event(type, data, seq_id_after(t, seq));
  }

  /// The stream's event id once `t` stands at `seq`.
  std::string seq_id_after(tracked_job& t, int64_t seq) {
    t.seq = seq;
    if (ids_.size() == 1) return std::to_string(seq);
    std::string id;
    size_t k = 0;
    for (const auto& want : ids_) {
      if (k > 0) id += '.';
      auto j = std::find_if(jobs_.begin(), jobs_.end(), [&](const tracked_job& x) { return x.id == want; });
      id += std::to_string(j != jobs_.end() ? j->seq : (want == t.id ? t.seq : 0));
      ++k;
    }
    return id;
  }

  void write_event(const std::string& type, const std::string& data, const std::string& id) {
    out_ += "id: " + id + "\nevent: " + type + "\n";
    size_t start = 0;
    for (;;) {
      auto nl = data.find('\n', start);
      out_ += "data: " + data.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    out_ += "\n";
  }

  actors::node& node_;
  std::string owner_;
  std::vector<std::string> ids_;  // as requested (valid, de-duplicated)
  std::vector<tracked_job> jobs_;  // the ones the owner can see
  std::vector<size_t> resume_jobs_;
  std::shared_ptr<persistence::event_inbox> inbox_;
  std::string out_ = "retry: 2000\n\n";
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> stream_ids(const httplib::Request& req) {
  if (!req.has_param("ids") || req.get_param_value("ids").empty())
    throw app_error(errc::invalid_input, "ids is required (comma-separated job ids)");
  std::vector<std::string> ids;
  std::stringstream in(req.get_param_value("ids"));
  std::string id;
  while (std::getline(in, id, ',')) {
    if (!persistence::is_uuid(id)) throw app_error(errc::invalid_input, "ids must be job ids (UUIDs)");
    id = lower(id);
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    if (ids.size() > max_stream_ids) throw app_error(errc::invalid_input, "At most 100 ids per stream");
  }
  return ids;
}

void serve_stream(actors::node& node, const httplib::Request& req, httplib::Response& res,
                  const std::string& owner, std::vector<std::string> ids, bool single) {
  auto stream = std::make_shared<event_stream>(node, owner, std::move(ids));
  size_t followed = stream->open(req.get_header_value("Last-Event-ID"));
  if (single && followed == 0) return send_error(res, 404, "Job not found", "not_found");
  if (!stream_pool::detach_current_thread())
    return send_error(res, 503, "Too many open event streams", "unavailable");
  auto heartbeat = std::chrono::milliseconds(node.settings().sse_heartbeat_ms);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [stream, heartbeat](size_t, httplib::DataSink& sink) {
        auto text = stream->take();
        if (!text.empty() && !sink.write(text.data(), text.size())) return false;
        if (stream->finished() || !stream->next(heartbeat)) {
          auto rest = stream->take();
          if (!rest.empty()) sink.write(rest.data(), rest.size());
          sink.done();
        }
        return true;
      },
      [stream](bool) mutable { stream.reset(); });
}

}  // namespace

void add_event_routes(router& r, actors::node& node, const authenticator& auth) {
  r.get("/jobs/events", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    serve_stream(node, req, res, owner, stream_ids(req), false);
  });
  r.get("/jobs/([^/]+)/events", [&](const httplib::Request& req, httplib::Response& res) {
    auto owner = owner_of(auth, req);
    serve_stream(node, req, res, owner, {path_uuid(req, 1, "job id")}, true);
  });
}

}  // namespace jobserver::http
