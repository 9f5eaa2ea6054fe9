#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace jobserver::persistence {

/// Uploaded PDFs under STORAGE_DIR: `<root>/<owner dir>/<document_id>.pdf`. The owner's
/// directory name is derived from a hash of the owner id and nothing a client sends ever
/// becomes part of a path. Files are written to a temporary name and renamed into place,
/// so a reader never sees half a file.
class file_storage {
 public:
  explicit file_storage(std::string root);

  /// A file being received.
  class upload {
   public:
    upload(std::string tmp_path, std::FILE* f, size_t limit);
    ~upload();  // removes the temporary file unless committed
    upload(const upload&) = delete;
    upload& operator=(const upload&) = delete;

    /// Appends bytes; false once the total passes the limit (the file is then useless).
    bool write(const char* data, size_t len);
    size_t size() const { return size_; }
    bool too_large() const { return too_large_; }
    /// The first bytes received (up to 1 KiB), for the magic-byte check.
    const std::string& head() const { return head_; }
    /// Flushes and moves the file to `final_path`; throws app_error(unavailable) on I/O error.
    void commit(const std::string& final_path);

   private:
    std::string tmp_path_;
    std::FILE* file_;
    size_t limit_;
    size_t size_ = 0;
    bool too_large_ = false;
    bool committed_ = false;
    bool failed_ = false;
    std::string head_;
    std::vector<char> buffer_;  // the FILE*'s buffer
  };

  /// Starts receiving a file for `owner`, refused past `limit` bytes.
  std::unique_ptr<upload> begin(const std::string& owner, size_t limit);
  /// The path, relative to the root, of a document's file.
  std::string relative_path(const std::string& owner, const std::string& document_id) const;
  std::string absolute(const std::string& relative) const;
  /// Removes a stored file (relative path); missing files are fine.
  void remove(const std::string& relative) const;

 private:
  std::string owner_dir(const std::string& owner) const;
  std::string root_;
};

/// True when `head` (the first bytes of a file) shows a PDF: "%PDF-" within the first
/// 1024 bytes, as readers accept.
bool looks_like_pdf(const std::string& head);

}  // namespace jobserver::persistence
