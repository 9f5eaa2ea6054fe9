// Sections, titles and markdown of PDFs generated here (issue 4, section 2).

#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>

#include "pdf_test_support.hpp"

using namespace jobserver::pdf;
using namespace jobserver::pdf::test;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// Four pages: a printed title, chapters "1 Introduction" (p1), "2 Cells" (p2, mid-page,
/// running onto p3) and "3 Genetics" (p4), with numbered subsections.
pdf_spec numbered_headings_doc() {
  pdf_spec spec;
  page_builder p1;
  p1.heading("Biology Study Guide", 24)
      .heading("1 Introduction", 16)
      .paragraph("Biology is the study of living things. " + prose(1, 5))
      .heading("1.1 Background", 13)
      .paragraph(prose(2, 6));
  page_builder p2;
  p2.paragraph(prose(3, 6))
      .heading("2 Cells", 16)
      .paragraph("Cells are the units of life. " + prose(4, 8));
  page_builder p3;
  p3.paragraph(prose(5, 10));
  page_builder p4;
  p4.heading("3 Genetics", 16)
      .paragraph("Genetics studies heredity. It explains how traits pass on. " + prose(6, 4))
      .heading("3.1 Inheritance", 13)
      .paragraph(prose(7, 5));
  spec.pages = {p1.build(), p2.build(), p3.build(), p4.build()};
  return spec;
}

/// Five pages with unnumbered chapter headings on pages 3, 4 (mid-page) and 5, a
/// contents page (2) that lists the same titles, and an outline with children.
pdf_spec outline_doc(bool with_destinations) {
  pdf_spec spec;
  page_builder cover;
  cover.heading("Field Guide", 28).paragraph("A short guide for the field course.");
  page_builder contents;
  contents.heading("Contents", 16)
      .line("GETTING STARTED")
      .line("Tools of the Trade")
      .line("Safety First");
  page_builder p3;
  p3.heading("GETTING STARTED", 18)
      .paragraph("Getting started takes an hour. Bring water and a notebook. " + prose(10, 6))
      .heading("Choosing a Site", 13)
      .paragraph(prose(11, 4));
  page_builder p4;
  p4.paragraph(prose(12, 8))
      .heading("Tools of the Trade", 18)
      .paragraph("A hand lens is the first tool. " + prose(13, 4));
  page_builder p5;
  p5.heading("Safety First", 18).paragraph("Never work alone. " + prose(14, 6));
  spec.pages = {cover.build(), contents.build(), p3.build(), p4.build(), p5.build()};
  const double tools_y = 72 + 8 * 11 * 1.25;  // roughly where p4's heading sits
  spec.outline = {
      {"Getting started:",
       with_destinations ? 3 : 0,
       -1,
       {{"Choosing a site", with_destinations ? 3 : 0, -1, {}}}},
      {"Tools of the Trade", with_destinations ? 4 : 0, with_destinations ? tools_y : -1, {}},
      {"Safety First", with_destinations ? 5 : 0, -1, {}}};
  return spec;
}

}  // namespace

SCENARIO("a PDF without an outline is split at its top-level numbered headings") {
  temp_dir dir;
  auto doc = extract_spec(dir, numbered_headings_doc());
  THEN("the chapters become sections with the right names, order and pages") {
    CHECK(doc.method == "headings");
    CHECK(doc.page_count == 4);
    REQUIRE(section_names(doc) ==
            std::vector<std::string>{"1 Introduction", "2 Cells", "3 Genetics"});
    CHECK(doc.sections[0].number == 1);
    CHECK(doc.sections[2].number == 3);
    CHECK(doc.sections[0].page_start == 1);
    CHECK(doc.sections[0].page_end == 2);
    CHECK(doc.sections[1].page_start == 2);
    CHECK(doc.sections[1].page_end == 3);
    CHECK(doc.sections[2].page_start == 4);
    CHECK(doc.sections[2].page_end == 4);
  }
  THEN("subsections stay inside their chapter as ## headings") {
    CHECK(contains(doc.sections[0].markdown, "## 1.1 Background"));
    CHECK(contains(doc.sections[2].markdown, "## 3.1 Inheritance"));
    CHECK_FALSE(contains(doc.sections[1].markdown, "Background"));
  }
  THEN("the printed title is the document's title, and descriptions are first sentences") {
    CHECK(doc.title == "Biology Study Guide");
    CHECK(doc.sections[0].description.rfind("Biology is the study of living things.", 0) == 0);
    CHECK(doc.sections[2].description ==
          "Genetics studies heredity. It explains how traits pass on.");
  }
  THEN("a section's name is not repeated as the first line of its markdown") {
    CHECK_FALSE(contains(doc.sections[1].markdown, "2 Cells"));
  }
}

SCENARIO("the outline's top-level titles become sections starting on their destination pages") {
  temp_dir dir;
  auto doc = extract_spec(dir, outline_doc(true));
  CHECK(doc.method == "outline");
  REQUIRE(section_names(doc) ==
          std::vector<std::string>{"Getting started:", "Tools of the Trade", "Safety First"});
  CHECK(doc.sections[0].page_start == 3);
  CHECK(doc.sections[0].page_end == 4);  // its text runs onto page 4 above the next heading
  CHECK(doc.sections[1].page_start == 4);
  CHECK(doc.sections[2].page_start == 5);
  CHECK(doc.sections[2].page_end == 5);
  CHECK(contains(doc.sections[0].markdown, "## Choosing a Site"));
  CHECK(doc.sections[0].description.rfind("Getting started takes an hour.", 0) == 0);
  CHECK(doc.sections[1].description.rfind("A hand lens is the first tool.", 0) == 0);
  CHECK_FALSE(contains(doc.sections[0].markdown, "GETTING STARTED"));
}

SCENARIO("outline entries without destinations are placed by matching their titles") {
  temp_dir dir;
  auto doc = extract_spec(dir, outline_doc(false));
  CHECK(doc.method == "outline");
  REQUIRE(doc.sections.size() == 3);
  THEN("the contents page is skipped: the titles match the headings, not its plain lines") {
    CHECK(doc.sections[0].page_start == 3);
    CHECK(doc.sections[1].page_start == 4);
    CHECK(doc.sections[2].page_start == 5);
    CHECK(doc.sections[1].description.rfind("A hand lens is the first tool.", 0) == 0);
  }
}

TEST_CASE("a single-page PDF without headings gives one section of its text") {
  temp_dir dir;
  pdf_spec spec;
  page_builder page;
  page.paragraph("Photosynthesis turns light into sugar. " + prose(20, 6)).paragraph(prose(21, 5));
  spec.pages = {page.build()};
  auto doc = extract_spec(dir, spec);
  CHECK(doc.method == "chunks");
  REQUIRE(doc.sections.size() == 1);
  CHECK(doc.sections[0].name == "Page 1");
  CHECK(doc.sections[0].page_start == 1);
  CHECK(doc.sections[0].page_end == 1);
  CHECK(doc.sections[0].markdown.rfind("Photosynthesis turns light into sugar.", 0) == 0);
  CHECK(contains(doc.sections[0].markdown, prose(21, 5)));
  CHECK(doc.title.empty());
}

TEST_CASE("two-column text is read column by column, not across") {
  temp_dir dir;
  // Section 1 fills the left column and the top of the right one; section 2 starts
  // half-way down the right column. Lines are written across the page, row by row.
  const std::vector<std::string> left = {
      "The left column starts here and", "keeps going for a while about",
      "plants and their roots in soil.", "Roots take up water from the",
      "ground and pass it to the stem.", "Leaves then use the water with",
      "light to make the sugars that",   "the whole plant needs, and the"};
  const std::vector<std::string> right_top = {"stems carry the sugar back down",
                                              "to the roots, which store it for",
                                              "the winter months ahead."};
  const std::vector<std::string> right_bottom = {
      "The right column is about rocks", "and the minerals that they hold",
      "deep within the crust below us.", "Granite forms when magma cools"};
  pdf_spec spec;
  page_spec page;
  page.runs.push_back({150, 60, 20, "Nature Notes", font::bold});
  page.runs.push_back({72, 100, 16, "1 Plants", font::bold});
  for (std::size_t i = 0; i < right_top.size() + 3 + right_bottom.size(); ++i) {
    const double y = 125 + 14 * static_cast<double>(i);
    if (i < left.size()) page.runs.push_back({72, y, 11, left[i]});
    if (i < right_top.size()) page.runs.push_back({330, y, 11, right_top[i]});
    if (i == right_top.size() + 1) page.runs.push_back({330, y, 16, "2 Rocks", font::bold});
    if (i >= right_top.size() + 3) {
      page.runs.push_back({330, y, 11, right_bottom[i - right_top.size() - 3]});
    }
  }
  spec.pages = {page};
  auto doc = extract_spec(dir, spec);
  REQUIRE(section_names(doc) == std::vector<std::string>{"1 Plants", "2 Rocks"});
  INFO("1: " << doc.sections[0].markdown << "\n2: " << doc.sections[1].markdown);
  CHECK(contains(doc.sections[0].markdown,
                 "plants and their roots in soil. Roots take up water from the ground"));
  CHECK(contains(doc.sections[0].markdown,
                 "the whole plant needs, and the stems carry the sugar back down"));
  CHECK_FALSE(contains(doc.sections[0].markdown, "rocks"));
  CHECK(contains(doc.sections[1].markdown,
                 "The right column is about rocks and the minerals that "
                 "they hold deep within the crust below us. Granite"));
  CHECK_FALSE(contains(doc.sections[1].markdown, "plants"));
  CHECK_FALSE(contains(doc.sections[1].markdown, "stems"));
}

TEST_CASE("running headers, footers and page numbers do not appear in the markdown") {
  temp_dir dir;
  pdf_spec spec;
  for (int p = 1; p <= 8; ++p) {
    page_builder page(72, 80);
    if (p % 3 == 1)
      page.heading("Chapter " + std::to_string(p / 3 + 1) + " Topic " + std::to_string(p), 16);
    page.paragraph(prose(30 + p, 8)).paragraph(prose(40 + p, 6));
    page.page().runs.push_back({72, 40, 9, "Course Notes - Biology 101", font::regular});
    page.page().runs.push_back({450, 40, 9, "Spring term", font::regular});
    page.page().runs.push_back(
        {290, 760, 9, p % 2 ? "Page " + std::to_string(p) + " of 8" : std::to_string(p)});
    spec.pages.push_back(page.build());
  }
  auto doc = extract_spec(dir, spec);
  REQUIRE(doc.sections.size() == 3);
  const std::string md = all_markdown(doc);
  CHECK_FALSE(contains(md, "Course Notes"));
  CHECK_FALSE(contains(md, "Spring term"));
  CHECK_FALSE(contains(md, " of 8"));
  for (const auto& line : lines_of(md)) {
    INFO(line);
    CHECK_FALSE(std::regex_match(line, std::regex(R"(\s*\d+\s*)")));
  }
  CHECK(contains(md, prose(33, 8)));  // the body is all there
}

TEST_CASE("hyphenated line ends are joined and list items are kept") {
  temp_dir dir;
  pdf_spec spec;
  page_builder page;
  page.heading("1 Notes", 16)
      .line("This paragraph talks about an impor-")
      .line("tant idea that needs a hyphen-")
      .line("ation fix at the end of its lines.")
      .gap(12)
      .line("\x95 first bullet item")
      .line("\x95 second bullet item")
      .gap(12)
      .line("1. Step one of the method")
      .line("2. Step two of the method")
      .gap(12)
      .paragraph("A closing sentence follows the list.");
  page_builder page2;
  page2.heading("2 More", 16).paragraph(prose(50, 3));
  spec.pages = {page.build(), page2.build()};
  auto doc = extract_spec(dir, spec);
  REQUIRE(doc.sections.size() == 2);
  const auto& md = doc.sections[0].markdown;
  CHECK(contains(md, "This paragraph talks about an important idea that needs a hyphenation fix"));
  const auto lines = lines_of(md);
  auto has_line = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) != lines.end();
  };
  CHECK(has_line("- first bullet item"));
  CHECK(has_line("- second bullet item"));
  CHECK(has_line("1. Step one of the method"));
  CHECK(has_line("2. Step two of the method"));
}

TEST_CASE("the metadata title is the document's title when the PDF has one") {
  temp_dir dir;
  auto spec = numbered_headings_doc();
  spec.title = "Intro to Biology (Fall)";
  CHECK(extract_spec(dir, spec).title == "Intro to Biology (Fall)");
  spec.title = "untitled.docx";  // a file name is no title: the printed one is used
  CHECK(extract_spec(dir, spec, "b.pdf").title == "Biology Study Guide");
}

TEST_CASE("lines in a fixed-width font become a code block") {
  temp_dir dir;
  pdf_spec spec;
  page_builder page;
  page.heading("1 Code", 16)
      .paragraph("Run the following commands.")
      .line("x <- c(1, 2, 3)", 10, font::mono)
      .line("mean(x)", 10, font::mono, 12)
      .gap(10)
      .paragraph("The mean is two.");
  page_builder page2;
  page2.heading("2 End", 16).paragraph(prose(60, 2));
  spec.pages = {page.build(), page2.build()};
  auto doc = extract_spec(dir, spec);
  REQUIRE(!doc.sections.empty());
  CHECK(contains(doc.sections[0].markdown, "```\nx <- c(1, 2, 3)\n  mean(x)\n```"));
}
