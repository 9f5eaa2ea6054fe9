#include <unistd.h>

#include <fstream>

#include "pdf/extractor.hpp"
#include "tests/fuzz/targets.hpp"

namespace jobserver::fuzz {

void pdf(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/jobserver-fuzz-" + std::to_string(::getpid()) + ".pdf";
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  pdf::extract_options opts;
  opts.max_pages = 50;
  int last = -1;
  opts.progress = [&](int pct) {
    require(pct > last && pct <= 90, "progress not rising within 0-90");
    last = pct;
  };
  try {
    auto doc = pdf::extract_structure(path, opts);
    require(!doc.sections.empty(), "a document without sections was accepted");
    require(doc.page_count >= 1 && doc.page_count <= opts.max_pages, "page count out of range");
    for (const auto& s : doc.sections)
      require(s.page_start >= 1 && s.page_start <= s.page_end && s.page_end <= doc.page_count,
              "section page range out of the document");
  } catch (const app_error& e) {
    expect_code(e, {errc::invalid_input, errc::unsupported});
  }
}

}  // namespace jobserver::fuzz
