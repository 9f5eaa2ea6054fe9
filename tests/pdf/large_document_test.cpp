// A 1,000-page document: completes, with progress rising from 5 to 90 (issue 4, section 2).

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "pdf_test_support.hpp"

using namespace jobserver::pdf;
using namespace jobserver::pdf::test;

TEST_CASE("a 1,000-page PDF is extracted with progress rising monotonically from 5 to 90") {
  temp_dir dir;
  pdf_spec spec;
  for (int p = 1; p <= 1000; ++p) {
    page_builder page;
    if (p % 50 == 1)
      page.heading("Chapter " + std::to_string(p / 50 + 1) + ": Unit " + std::to_string(p), 18);
    page.paragraph(prose(p, 10)).paragraph(prose(p + 5000, 8));
    page.page().runs.push_back({300, 760, 9, std::to_string(p)});
    spec.pages.push_back(page.build());
  }
  const auto path = dir.write("big.pdf", render_pdf(spec));
  std::vector<int> progress;
  extract_options opts;
  opts.progress = [&](int pct) { progress.push_back(pct); };
  auto doc = extract_structure(path, opts);

  CHECK(doc.page_count == 1000);
  CHECK(doc.method == "headings");
  REQUIRE(doc.sections.size() == 20);
  CHECK(doc.sections[0].name == "Chapter 1: Unit 1");
  CHECK(doc.sections[19].page_start == 951);
  CHECK(doc.sections[19].page_end == 1000);
  REQUIRE(progress.size() > 10);
  CHECK(progress.front() == 5);
  CHECK(progress.back() == 90);
  for (std::size_t i = 1; i < progress.size(); ++i) {
    INFO("step " << i);
    CHECK(progress[i] > progress[i - 1]);
  }
  CHECK(std::count_if(progress.begin(), progress.end(), [](int p) { return p >= 10 && p <= 70; }) >
        30);
}

TEST_CASE("extractions running at once in several threads give the same result as one alone") {
  temp_dir dir;
  pdf_spec spec;
  for (int p = 1; p <= 40; ++p) {
    page_builder page;
    if (p % 8 == 1) page.heading("Part " + std::to_string(p / 8 + 1) + " Overview", 18);
    page.paragraph(prose(p, 12));
    spec.pages.push_back(page.build());
  }
  const auto path = dir.write("doc.pdf", render_pdf(spec));
  const auto alone = extract_structure(path, {});
  REQUIRE(alone.sections.size() == 5);
  std::vector<document_structure> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&r, &path] { r = extract_structure(path, {}); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    REQUIRE(r.sections.size() == alone.sections.size());
    for (std::size_t i = 0; i < r.sections.size(); ++i) {
      CHECK(r.sections[i].name == alone.sections[i].name);
      CHECK(r.sections[i].markdown == alone.sections[i].markdown);
      CHECK(r.sections[i].page_start == alone.sections[i].page_start);
    }
  }
}
