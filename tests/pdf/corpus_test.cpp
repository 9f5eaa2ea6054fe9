// Real PDFs from Debian documentation packages (scripts/fetch-pdfs.sh): their own outline
// is the expected answer (issue 4, section 4).

#include <catch2/catch.hpp>

#include "outline_reference.hpp"

using namespace jobserver::pdf;
using namespace jobserver::pdf::test;

TEST_CASE("real PDFs: at least 90% of top-level outline titles become sections on the right page",
          "[corpus]") {
  const auto files = corpus_files(std::string(JOBSERVER_SOURCE_DIR) + "/.run/pdf-corpus");
  if (files.empty()) {
    WARN("no real-world PDFs: run scripts/fetch-pdfs.sh to fetch them (skipped)");
    return;
  }
  for (const auto& file : files) {
    const auto reference = reference_outline(file);
    auto doc = extract_structure(file, {});
    const auto score = score_outline(reference, doc);
    INFO(file << ": " << score.named_on_page << " of " << score.titles
              << " outline titles are sections on the right page (" << score.named
              << " by name); method " << doc.method);
    REQUIRE(score.titles > 0);
    CHECK(doc.method == "outline");
    CHECK(score.named_on_page * 10 >= score.titles * 9);
    const auto by_titles =
        score_outline(reference, extract_without_destinations(file, outline_use::titles_only));
    INFO("by matching titles alone (no destinations): " << by_titles.named_on_page << " of "
                                                        << by_titles.titles);
    CHECK(by_titles.named_on_page * 10 >= by_titles.titles * 9);
    for (const auto& s : doc.sections) {
      CHECK(s.page_start <= s.page_end);
      CHECK(s.page_end <= doc.page_count);
    }
  }
}
