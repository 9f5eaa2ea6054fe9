// Bad input: each permanent failure with its exact error, cancellation, hostile bytes
// (issue 4, sections 2 and 4).

#include <random>

#include "../support/catch_errc.hpp"
#include "config/errors.hpp"
#include "pdf_test_support.hpp"

using namespace jobserver;
using namespace jobserver::pdf;
using namespace jobserver::pdf::test;

namespace {

pdf_spec simple_doc(int pages) {
  pdf_spec spec;
  for (int p = 1; p <= pages; ++p) {
    page_builder page;
    page.heading("Chapter " + std::to_string(p), 16).paragraph(prose(p, 6));
    spec.pages.push_back(page.build());
  }
  return spec;
}

/// The app_error that extracting `path` throws; fails the test when there is none.
app_error error_of(const std::string& path, const extract_options& opts = {}) {
  try {
    extract_structure(path, opts);
  } catch (const app_error& e) {
    return e;
  }
  FAIL("extract_structure did not throw for " << path);
  throw std::logic_error("unreachable");
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("a password-protected PDF fails permanently as password-protected") {
  temp_dir dir;
  const auto plain = dir.write("plain.pdf", render_pdf(simple_doc(2)));
  const auto locked = dir.file("locked.pdf");
  REQUIRE(run("qpdf --encrypt secret owner-secret 256 -- '" + plain + "' '" + locked + "'") == 0);
  auto e = error_of(locked);
  CHECK(e.code() == errc::unsupported);
  CHECK(std::string(e.what()) == "PDF is password-protected");
  CHECK_FALSE(e.transient());
}

TEST_CASE("a PDF encrypted with an empty user password is read normally") {
  temp_dir dir;
  const auto plain = dir.write("plain.pdf", render_pdf(simple_doc(2)));
  const auto restricted = dir.file("restricted.pdf");
  REQUIRE(run("qpdf --encrypt '' owner-secret 256 --print=none -- '" + plain + "' '" + restricted +
              "'") == 0);
  auto doc = extract_structure(restricted, {});
  CHECK(doc.sections.size() == 2);
}

TEST_CASE("a truncated PDF fails permanently as damaged") {
  temp_dir dir;
  const std::string bytes = render_pdf(simple_doc(6));
  auto e = error_of(dir.write("cut.pdf", bytes.substr(0, bytes.size() / 2)));
  CHECK(e.code() == errc::invalid_input);
  CHECK(starts_with(e.what(), "PDF is damaged or not a PDF: the file is truncated"));
  CHECK_FALSE(e.transient());
}

TEST_CASE("a PDF header followed by garbage fails permanently as damaged") {
  temp_dir dir;
  std::string bytes = "%PDF-1.7\n";
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) bytes += static_cast<char>(rng() % 256);
  bytes += "\n%%EOF\n";
  auto e = error_of(dir.write("garbage.pdf", bytes));
  CHECK(e.code() == errc::invalid_input);
  CHECK(starts_with(e.what(), "PDF is damaged or not a PDF"));
}

TEST_CASE("a PDF with images and no text fails as having no extractable text") {
  temp_dir dir;
  pdf_spec spec;
  spec.pages.resize(3);
  for (auto& page : spec.pages) page.image = true;
  auto e = error_of(dir.write("scan.pdf", render_pdf(spec)));
  CHECK(e.code() == errc::unsupported);
  CHECK(std::string(e.what()) == "No extractable text (scanned PDF?)");
  CHECK_FALSE(e.transient());
}

TEST_CASE("a text file renamed to .pdf fails as not a PDF") {
  temp_dir dir;
  auto e = error_of(dir.write("notes.pdf", "These are my notes, not a PDF at all.\n"));
  CHECK(e.code() == errc::unsupported);
  CHECK(starts_with(e.what(),
                    "PDF is damaged or not a PDF: the file does not start with a PDF header"));
  CHECK_FALSE(e.transient());
}

TEST_CASE("an empty file fails as not a PDF and a missing file as not found") {
  temp_dir dir;
  auto empty = error_of(dir.write("empty.pdf", ""));
  CHECK(empty.code() == errc::unsupported);
  CHECK(std::string(empty.what()) == "PDF is damaged or not a PDF: the file is empty");
  auto missing = error_of(dir.file("missing.pdf"));
  CHECK(missing.code() == errc::not_found);
}

TEST_CASE("a PDF with more pages than the limit fails naming the limit") {
  temp_dir dir;
  const auto path = dir.write("long.pdf", render_pdf(simple_doc(5)));
  extract_options opts;
  opts.max_pages = 3;
  bool progressed = false;
  opts.progress = [&](int) { progressed = true; };
  auto e = error_of(path, opts);
  CHECK(e.code() == errc::invalid_input);
  CHECK(std::string(e.what()) == "PDF has 5 pages; the limit is 3");
  CHECK_FALSE(e.transient());
  CHECK_FALSE(progressed);  // refused before any work
  opts.max_pages = 5;
  CHECK(extract_structure(path, opts).page_count == 5);
}

TEST_CASE("should_stop cancels the extraction between pages") {
  temp_dir dir;
  const auto path = dir.write("doc.pdf", render_pdf(simple_doc(20)));
  extract_options opts;
  int polls = 0, last_progress = 0;
  opts.should_stop = [&] { return ++polls > 5; };
  opts.progress = [&](int pct) { last_progress = pct; };
  auto e = error_of(path, opts);
  CHECK(e.code() == errc::cancelled);
  CHECK(std::string(e.what()) == "stopped");
  CHECK(last_progress >= 5);
  CHECK(last_progress < 70);  // it stopped while reading pages
}

TEST_CASE("mutated PDFs either extract or fail with an app_error, never anything else") {
  temp_dir dir;
  const std::string original = render_pdf(simple_doc(4));
  std::mt19937 rng(42);
  int extracted = 0, failed = 0;
  for (int round = 0; round < 150; ++round) {
    std::string bytes = original;
    const int flips = 1 + static_cast<int>(rng() % 20);
    for (int k = 0; k < flips; ++k) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng() % 256);
    }
    if (round % 5 == 0) bytes.erase(rng() % bytes.size(), rng() % 200);  // and a hole
    const auto path = dir.write("mutant.pdf", bytes);
    try {
      auto doc = extract_structure(path, {});
      CHECK(doc.page_count >= 1);
      ++extracted;
    } catch (const app_error& e) {
      CHECK_FALSE(e.transient());
      ++failed;
    }
  }
  CHECK(extracted + failed == 150);
  CHECK(extracted > 0);  // Poppler repairs most small damage
}
