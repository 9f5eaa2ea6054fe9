#pragma once

#include "http/auth.hpp"
#include "http/router.hpp"

namespace jobserver::actors {
class node;
}

namespace jobserver::http {

/// `/lessons` routes: generate (one, all), read.
void add_lesson_routes(router& r, actors::node& node, const authenticator& auth);

}  // namespace jobserver::http
