// The text helpers the structuring passes rely on.

#include <catch2/catch.hpp>

#include "pdf/text_util.hpp"

using namespace jobserver::pdf::detail;

TEST_CASE("titles are compared without case, spacing or punctuation") {
  CHECK(normalize_for_match("1.2  The R-Environment:") == "1 2 the r environment");
  CHECK(normalize_for_match("  GETTING\tSTARTED ") == "getting started");
  CHECK(normalize_for_match("Caf\xC3\xA9 \xE2\x80\x94 menu") == "caf\xC3\xA9 menu");
}

TEST_CASE("untrusted code points are sanitised and ligatures spelled out") {
  std::string out;
  for (uint32_t cp : {0x66u, 0xFB01u, 0x0u, 0x7u, 0xD800u, 0xE000u, 0x110000u, 0xADu, 0x20ACu}) {
    append_code_point(out, cp);
  }
  CHECK(out == "ffi-\xE2\x82\xAC");
  CHECK(sanitize_utf8("ok\xFF\xC3(\x01 \xE2\x82\xAC") == "ok( \xE2\x82\xAC");
  CHECK(sanitize_utf8("\xC0\xAF") == "");  // overlong '/'
}

TEST_CASE("page numbers are recognised in their usual forms") {
  for (const char* s : {"12", "xiv", "Page 3", "page 3 of 10", "3 / 10", "- 4 -", "[7]"}) {
    INFO(s);
    CHECK(is_page_number(s));
  }
  for (const char* s : {"12 apples", "civil", "mix", "Chapter 3", "-", "page", ""}) {
    INFO(s);
    CHECK_FALSE(is_page_number(s));
  }
}

TEST_CASE("section numbering gives the heading depth") {
  CHECK(numbering_depth("1 Introduction") == 1);
  CHECK(numbering_depth("2.3.1 The DESCRIPTION file") == 3);
  CHECK(numbering_depth("1.") == 1);
  CHECK(numbering_depth("A.2 Appendix part") == 2);
  CHECK(numbering_depth("Chapter 3") == 1);
  CHECK(numbering_depth("Part II: Methods") == 1);
  CHECK(numbering_depth("IV Terminal types") == 1);
  CHECK(numbering_depth("Introduction") == 0);
  CHECK(numbering_depth("2023 in review") == 0);
  CHECK(numbering_depth("I think so") == 0);
}

TEST_CASE("list items, contents entries and sentence ends are recognised") {
  CHECK(is_list_item("\xE2\x80\xA2 first point"));
  CHECK(is_list_item("- dash item"));
  CHECK(is_list_item("1. step one"));
  CHECK(is_list_item("(a) option"));
  CHECK_FALSE(is_list_item("1999 was a year"));
  CHECK(strip_bullet("\xE2\x80\xA2 first point") == "first point");
  CHECK(strip_bullet("1. step one") == "1. step one");
  CHECK(looks_like_toc_entry("1 Introduction . . . . . . 5"));
  CHECK(looks_like_toc_entry("Vectors.......12"));
  CHECK_FALSE(looks_like_toc_entry("The end."));
  CHECK(ends_sentence("It ends here."));
  CHECK(ends_sentence("(as shown.)"));
  CHECK_FALSE(ends_sentence("it goes on"));
}

TEST_CASE("a description is the first sentence, or two when the first is short") {
  CHECK(first_sentences("Cells divide. They grow. They die.") == "Cells divide. They grow.");
  const std::string long_first =
      "A cell is the basic structural and functional unit of every known living organism on earth. "
      "Second sentence.";
  CHECK(first_sentences(long_first) ==
        "A cell is the basic structural and functional unit of every known living organism on "
        "earth.");
  CHECK(first_sentences("See e.g. the table in Fig. 2 for details. Next one.") ==
        "See e.g. the table in Fig. 2 for details. Next one.");
  const std::string run_on(1000, 'a');
  CHECK(first_sentences(run_on, 100).size() <= 100 + 3);
}
