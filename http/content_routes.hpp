#pragma once

#include "http/auth.hpp"
#include "http/router.hpp"

namespace jobserver::actors {
class node;
}

namespace jobserver::http {

/// Courses, documents and sections routes.
void add_content_routes(router& r, actors::node& node, const authenticator& auth);

/// `POST /upload/pdf-structured`: the multipart upload, streamed to storage.
void add_upload_route(router& r, actors::node& node, const authenticator& auth);

}  // namespace jobserver::http
