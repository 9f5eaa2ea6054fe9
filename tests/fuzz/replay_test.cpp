// Every committed fuzz input (the seeds of tests/fuzz/corpus and the crash inputs saved
// in tests/fuzz/regressions) replayed through the fuzz targets' entry points (issue 9).
// In the sanitizer build this is also where ASan/UBSan would catch a regression.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "tests/fuzz/targets.hpp"

namespace {

namespace fs = std::filesystem;
using entry = void (*)(const uint8_t*, size_t);

/// The saved inputs of one target, seeds and regressions; REQUIREs at least one seed.
std::vector<fs::path> saved_inputs(const std::string& target) {
  std::vector<fs::path> files;
  size_t seeds = 0;
  for (const char* dir : {"corpus", "regressions"}) {
    fs::path p = fs::path{JOBSERVER_SOURCE_DIR} / "tests/fuzz" / dir / target;
    if (!fs::exists(p)) continue;
    for (const auto& e : fs::directory_iterator(p)) {
      if (!e.is_regular_file() || e.path().filename() == ".gitkeep") continue;
      files.push_back(e.path());
      if (std::string{dir} == "corpus") ++seeds;
    }
  }
  REQUIRE(seeds > 0);
  return files;
}

void replay(const std::string& target, entry fn) {
  for (const auto& path : saved_inputs(target)) {
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    INFO(path.string());
    CHECK_NOTHROW(fn(bytes.data(), bytes.size()));
  }
}

}  // namespace

TEST_CASE("saved JSON body fuzz inputs answer a client error or a storable object", "[fuzz]") {
  replay("json_body", jobserver::fuzz::json_body);
}

TEST_CASE("saved multipart fuzz inputs keep the upload form bounded and its data valid JSON",
          "[fuzz]") {
  replay("multipart", jobserver::fuzz::multipart);
}

TEST_CASE("saved JWT fuzz inputs are refused as unauthorized or yield a clean subject", "[fuzz]") {
  replay("jwt", jobserver::fuzz::jwt);
}

TEST_CASE("saved PDF fuzz inputs extract or fail with a permanent input error", "[fuzz]") {
  replay("pdf", jobserver::fuzz::pdf);
}

TEST_CASE("the JSON body target rejects what the server must not store", "[fuzz]") {
  // The entry point's own checks would fire if parse_json_object let these through.
  for (std::string body : {R"({"type":"a\u0000b"})", R"({"job_ids":"x"})", "[1]", "{\"a\":\"\xff\"}"}) {
    body.insert(body.begin(), '\0');
    INFO(body);
    CHECK_NOTHROW(jobserver::fuzz::json_body(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  }
  CHECK_THROWS_AS(jobserver::fuzz::require(false, "a violated invariant"), std::logic_error);
  CHECK_THROWS_AS(jobserver::fuzz::expect_code(jobserver::app_error(jobserver::errc::internal, "x"),
                                               {jobserver::errc::invalid_input}),
                  std::logic_error);
}
