#pragma once

// A small PDF writer for tests: pages of Helvetica / Helvetica-Bold / Courier text at
// given sizes and positions, optional images, an optional outline and metadata title.
// The output is a valid PDF 1.4 file with an exact cross-reference table.

#include <string>
#include <vector>

namespace jobserver::pdf::test {

enum class font { regular, bold, mono };

/// One line of text; `y` is its baseline measured from the top of the page.
struct text_run {
  double x = 72, y = 72, size = 11;
  std::string text;  // ASCII (WinAnsi)
  font face = font::regular;
};

struct page_spec {
  std::vector<text_run> runs;
  bool image = false;  // a grey square drawn as an inline image
};

struct outline_spec {
  std::string title;
  int page = 0;   // 1-based destination page; 0 = no destination
  double y = -1;  // destination top from the top of the page; < 0 = none
  std::vector<outline_spec> children;
};

struct pdf_spec {
  std::vector<page_spec> pages;
  std::vector<outline_spec> outline;
  std::string title;  // Info /Title; empty = no Info dictionary
  double width = 612, height = 792;
};

/// The bytes of the PDF.
std::string render_pdf(const pdf_spec& spec);

/// Lays out lines top-down on one page, wrapping paragraphs at about `width` points.
class page_builder {
 public:
  explicit page_builder(double left = 72, double top = 72, double width = 468)
      : left_(left), y_(top), width_(width) {}
  page_builder& heading(const std::string& text, double size = 16, font face = font::bold);
  page_builder& paragraph(const std::string& text, double size = 11);
  /// One line as given (no wrapping); `indent` in points from the left margin.
  page_builder& line(const std::string& text, double size = 11, font face = font::regular,
                     double indent = 0);
  page_builder& at(double y) {
    y_ = y;
    return *this;
  }
  page_builder& gap(double points) {
    y_ += points;
    return *this;
  }
  double y() const { return y_; }
  page_spec& page() { return page_; }
  page_spec build() const { return page_; }

 private:
  double left_, y_, width_;
  page_spec page_;
};

/// `sentences` sentences of filler prose, different for each `seed`.
std::string prose(int seed, int sentences);

/// A temporary directory removed (with its files) when the object goes.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  /// Writes `bytes` to file(name) and returns its path.
  std::string write(const std::string& name, const std::string& bytes) const;

 private:
  std::string path_;
};

}  // namespace jobserver::pdf::test
