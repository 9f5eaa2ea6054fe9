#pragma once

#include "http/auth.hpp"
#include "http/router.hpp"

namespace jobserver::actors {
class node;
}

namespace jobserver::http {

/// Server-Sent Events: `GET /jobs/:id/events` and `GET /jobs/events?ids=a,b,c`. Register
/// before the job routes (`/jobs/events` would otherwise match `/jobs/:id`). Each stream
/// runs on a thread detached from the request pool (http/stream_pool.hpp).
void add_event_routes(router& r, actors::node& node, const authenticator& auth);

}  // namespace jobserver::http
