// The node's content calls: courses, documents, sections and uploads. Repository calls
// run on the calling (HTTP) thread; everything that touches a job goes to an actor.
#include "actors/node_impl.hpp"
#include "config/log.hpp"

namespace jobserver::actors {

namespace {

/// Cancels `owner`'s unfinished upload jobs whose data `key` is `value`; returns how many.
size_t cancel_uploads(node::impl& n, const std::string& owner, const std::string& key,
                      const std::string& value) {
  auto ids = n.rt->store->jobs_with(owner, "upload_pdf", key, value, true);
  for (const auto& id : ids) {
    try {
      ask<std::string>(n.asks, n.rt->actors.get(directory::tracker), cancel_atom::value, owner, id);
    } catch (const app_error& e) {
      if (e.code() != errc::conflict) throw;  // finished meanwhile: fine
    }
  }
  return ids.size();
}

}  // namespace

std::string node::create_course(const std::string& owner, const course_input& in) {
  return impl_->rt->content->create_course(owner, in);
}

std::string node::list_courses(const std::string& owner) {
  return impl_->rt->content->list_courses(owner);
}

std::optional<std::string> node::find_course(const std::string& owner, const std::string& id) {
  return impl_->rt->content->find_course(owner, id);
}

bool node::delete_course(const std::string& owner, const std::string& id) {
  if (!impl_->rt->content->course_exists(owner, id)) return false;
  cancel_uploads(*impl_, owner, "course_id", id);
  auto docs = impl_->rt->content->delete_course(owner, id);
  if (!docs) return false;
  for (const auto& d : *docs) impl_->rt->files->remove(d.storage_path);
  logger("content")->info("course {} deleted by {} ({} document(s))", id, owner, docs->size());
  return true;
}

std::string node::list_documents(const std::string& owner, const std::string& course_id) {
  return impl_->rt->content->list_documents(owner, course_id);
}

std::optional<std::string> node::find_document(const std::string& owner, const std::string& id) {
  return impl_->rt->content->find_document(owner, id);
}

bool node::delete_document(const std::string& owner, const std::string& id) {
  // Stop any upload of it first, so a run in progress cannot store it afterwards.
  cancel_uploads(*impl_, owner, "document_id", id);
  auto doc = impl_->rt->content->delete_document(owner, id);
  // Its upload jobs go too, so a failed upload leaves nothing behind either.
  auto uploads = impl_->rt->store->jobs_with(owner, "upload_pdf", "document_id", id, false);
  if (!doc && uploads.empty()) return false;
  impl_->rt->store->remove(uploads);
  try {
    impl_->reads.with([&](redis_client& r) { impl_->rt->cache->erase(r, uploads); });
  } catch (const app_error&) {
    // Redis down: the status entries expire with retention.
  }
  for (const auto& job : uploads) impl_->rt->memory->invalidate(job);
  impl_->rt->files->remove(doc ? doc->storage_path : impl_->rt->files->relative_path(owner, id));
  logger("content")->info("document {} deleted by {}", id, owner);
  return true;
}

std::optional<std::string> node::list_sections(const std::string& owner, const std::string& document_id) {
  return impl_->rt->content->list_sections(owner, document_id);
}

file_storage& node::files() { return *impl_->rt->files; }

lesson_store& node::lessons() { return *impl_->rt->lessons; }

std::string node::create_upload(const std::string& owner, const std::string& data_json) {
  new_job job;
  job.owner_id = owner;
  job.type = "upload_pdf";
  job.data = data_json;
  job.priority = impl_->rt->registry.find("upload_pdf")->priority;
  return create_job(std::move(job));
}

}  // namespace jobserver::actors
