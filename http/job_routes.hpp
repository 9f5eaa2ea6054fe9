#pragma once

#include "http/auth.hpp"
#include "http/router.hpp"

namespace jobserver::actors {
class node;
}

namespace jobserver::http {

/// `/jobs` routes: get, poll, history, cancel, retry, and (ENABLE_TEST_JOBS) create.
void add_job_routes(router& r, actors::node& node, const authenticator& auth);

}  // namespace jobserver::http
