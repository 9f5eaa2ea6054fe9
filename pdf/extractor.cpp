#include "pdf/extractor.hpp"

#include <memory>
#include <new>

#include "config/errors.hpp"
#include "pdf/poppler_reader.hpp"
#include "pdf/structure.hpp"
#include "pdf/text_util.hpp"

namespace jobserver::pdf {

namespace {

constexpr const char* kNoText = "No extractable text (scanned PDF?)";

/// Calls the caller's progress callback with rising values only.
class progress_reporter {
 public:
  explicit progress_reporter(const std::function<void(int)>& fn) : fn_(fn) {}
  void operator()(int pct) {
    if (pct <= last_) return;
    last_ = pct;
    if (fn_) fn_(pct);
  }

 private:
  const std::function<void(int)>& fn_;
  int last_ = -1;
};

document_structure extract(const std::string& path, const extract_options& opts) {
  progress_reporter progress(opts.progress);
  const std::function<bool()> stop_requested = [&opts] {
    return opts.should_stop && opts.should_stop();
  };
  const auto check_stop = [&] {
    if (stop_requested()) throw app_error(errc::cancelled, "stopped", false);
  };

  detail::check_pdf_file(path);
  auto reader = std::make_unique<detail::poppler_reader>(path);
  const int pages = reader->page_count();
  if (pages > opts.max_pages) {
    throw app_error(errc::invalid_input,
                    "PDF has " + std::to_string(pages) + " pages; the limit is " +
                        std::to_string(opts.max_pages),
                    false);
  }
  progress(5);

  // Page by page: only each page's lines are kept, never Poppler's text objects.
  std::vector<detail::page_text> text;
  text.reserve(static_cast<std::size_t>(pages));
  std::size_t alnum = 0;
  for (int n = 1; n <= pages; ++n) {
    check_stop();
    text.push_back(reader->read_page(n, stop_requested));
    for (const auto& line : text.back().lines) alnum += detail::count_alnum(line.text);
    progress(10 + static_cast<int>(60LL * n / pages));
  }
  check_stop();
  if (alnum == 0) throw app_error(errc::unsupported, kNoText, false);
  const auto outline = reader->outline();
  const std::string metadata_title = reader->metadata_title();
  reader.reset();  // Poppler's caches go before structuring starts

  document_structure doc =
      detail::build_structure(text, outline, metadata_title, progress, check_stop);
  if (doc.sections.empty()) throw app_error(errc::unsupported, kNoText, false);
  return doc;
}

}  // namespace

document_structure extract_structure(const std::string& path, const extract_options& opts) {
  try {
    return extract(path, opts);
  } catch (const app_error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw app_error(errc::invalid_input, "PDF is too large to process", false);
  } catch (const std::exception&) {
    throw app_error(errc::invalid_input, "PDF is damaged or not a PDF: it cannot be read", false);
  }
}

}  // namespace jobserver::pdf
