#include "pdf_writer.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace jobserver::pdf::test {

namespace {

std::string pdf_string(const std::string& s) {
  std::string out = "(";
  for (char c : s) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out + ")";
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

const char* font_resource(font f) {
  switch (f) {
    case font::bold:
      return "/F2";
    case font::mono:
      return "/F3";
    default:
      return "/F1";
  }
}

int descendants(const outline_spec& item) {
  int n = 0;
  for (const auto& c : item.children) n += 1 + descendants(c);
  return n;
}

}  // namespace

std::string render_pdf(const pdf_spec& spec) {
  const int n = static_cast<int>(spec.pages.size());
  const int first_page_obj = 7;
  const int outline_root = first_page_obj + 2 * n;
  // Object i + 1 is objects[i]; the outline root and its items follow the pages.
  std::vector<std::string> objects(static_cast<std::size_t>(outline_root - 1));

  // Outline items get ids outline_root + 1 ... in depth-first order.
  std::vector<const outline_spec*> order;
  std::vector<int> parent_of, prev_of, next_of, first_of, last_of;
  std::function<void(const std::vector<outline_spec>&, int)> walk =
      [&](const std::vector<outline_spec>& items, int parent) {
        int prev = 0;
        for (const auto& item : items) {
          const int id = outline_root + 1 + static_cast<int>(order.size());
          order.push_back(&item);
          parent_of.push_back(parent), prev_of.push_back(prev), next_of.push_back(0);
          first_of.push_back(0), last_of.push_back(0);
          if (prev) next_of[static_cast<std::size_t>(prev - outline_root - 1)] = id;
          walk(item.children, id);
          if (!item.children.empty()) {
            first_of[static_cast<std::size_t>(id - outline_root - 1)] = id + 1;
            // The last child is the last top-level id among the children's subtree walk.
            int child = id + 1;
            while (next_of[static_cast<std::size_t>(child - outline_root - 1)]) {
              child = next_of[static_cast<std::size_t>(child - outline_root - 1)];
            }
            last_of[static_cast<std::size_t>(id - outline_root - 1)] = child;
          }
          prev = id;
        }
      };
  walk(spec.outline, outline_root);

  auto page_id = [&](int page) { return first_page_obj + 2 * (page - 1); };
  std::string catalog = "<< /Type /Catalog /Pages 2 0 R";
  if (!order.empty()) catalog += " /Outlines " + std::to_string(outline_root) + " 0 R";
  objects[0] = catalog + " >>";
  std::string kids;
  for (int p = 1; p <= n; ++p) kids += std::to_string(page_id(p)) + " 0 R ";
  objects[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(n) + " >>";
  const char* names[] = {"Helvetica", "Helvetica-Bold", "Courier"};
  for (int f = 0; f < 3; ++f) {
    objects[2 + static_cast<std::size_t>(f)] =
        std::string("<< /Type /Font /Subtype /Type1 /BaseFont /") + names[f] +
        " /Encoding /WinAnsiEncoding >>";
  }
  objects[5] = spec.title.empty() ? "<< >>" : "<< /Title " + pdf_string(spec.title) + " >>";
  for (int p = 1; p <= n; ++p) {
    const page_spec& page = spec.pages[static_cast<std::size_t>(p - 1)];
    std::string content;
    for (const auto& run : page.runs) {
      content += "BT " + std::string(font_resource(run.face)) + " " + num(run.size) +
                 " Tf 1 0 0 1 " + num(run.x) + " " + num(spec.height - run.y) + " Tm " +
                 pdf_string(run.text) + " Tj ET\n";
    }
    if (page.image) {
      content += "q 200 0 0 200 200 300 cm BI /W 2 /H 2 /CS /G /BPC 8 ID ";
      content += std::string("\x10\xF0\xF0\x10", 4);
      content += "\nEI Q\n";
    }
    objects[static_cast<std::size_t>(page_id(p) - 1)] =
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + num(spec.width) + " " + num(spec.height) +
        "] /Resources << /Font << /F1 3 0 R /F2 4 0 R /F3 5 0 R >> >> /Contents " +
        std::to_string(page_id(p) + 1) + " 0 R >>";
    objects[static_cast<std::size_t>(page_id(p))] =
        "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream";
  }
  if (!order.empty()) {
    int top_first = outline_root + 1, top_last = top_first;
    while (next_of[static_cast<std::size_t>(top_last - outline_root - 1)]) {
      top_last = next_of[static_cast<std::size_t>(top_last - outline_root - 1)];
    }
    objects.push_back("<< /Type /Outlines /First " + std::to_string(top_first) + " 0 R /Last " +
                      std::to_string(top_last) + " 0 R /Count " + std::to_string(order.size()) +
                      " >>");
    for (std::size_t i = 0; i < order.size(); ++i) {
      const outline_spec& item = *order[i];
      std::string o = "<< /Title " + pdf_string(item.title) + " /Parent " +
                      std::to_string(parent_of[i]) + " 0 R";
      if (prev_of[i]) o += " /Prev " + std::to_string(prev_of[i]) + " 0 R";
      if (next_of[i]) o += " /Next " + std::to_string(next_of[i]) + " 0 R";
      if (first_of[i]) {
        o += " /First " + std::to_string(first_of[i]) + " 0 R /Last " + std::to_string(last_of[i]) +
             " 0 R /Count " + std::to_string(descendants(item));
      }
      if (item.page > 0) {
        o += " /Dest [" + std::to_string(page_id(item.page)) + " 0 R /XYZ 0 " +
             (item.y >= 0 ? num(spec.height - item.y) : std::string("null")) + " 0]";
      }
      objects.push_back(o + " >>");
    }
  }

  std::string out = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(out.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  const std::size_t xref = out.size();
  out += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (auto off : offsets) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%010zu 00000 n \n", off);
    out += buf;
  }
  out +=
      "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R /Info 6 0 R >>\n";
  out += "startxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return out;
}

page_builder& page_builder::heading(const std::string& text, double size, font face) {
  y_ += size * 1.2;
  page_.runs.push_back({left_, y_, size, text, face});
  y_ += size * 0.6;
  return *this;
}

page_builder& page_builder::line(const std::string& text, double size, font face, double indent) {
  y_ += size * 1.25;
  page_.runs.push_back({left_ + indent, y_, size, text, face});
  return *this;
}

page_builder& page_builder::paragraph(const std::string& text, double size) {
  const auto max_chars = static_cast<std::size_t>(width_ / (size * 0.5));
  std::istringstream words(text);
  std::string word, current;
  while (words >> word) {
    if (!current.empty() && current.size() + 1 + word.size() > max_chars) {
      line(current, size);
      current.clear();
    }
    current += (current.empty() ? "" : " ") + word;
  }
  if (!current.empty()) line(current, size);
  y_ += size * 0.9;
  return *this;
}

std::string prose(int seed, int sentences) {
  static const char* subjects[] = {"The method",    "Each student",  "A careful reader",
                                   "The model",     "This approach", "The teacher",
                                   "Every example", "The result"};
  static const char* verbs[] = {"explains", "measures",   "compares",    "describes",
                                "predicts", "summarises", "illustrates", "questions"};
  static const char* objects[] = {"the growth of cells",    "a simple experiment",
                                  "the main idea",          "the data in the table",
                                  "several related topics", "the history of the field",
                                  "a common mistake",       "the next chapter"};
  std::string out;
  unsigned state = static_cast<unsigned>(seed) * 2654435761u + 12345u;
  auto next = [&state](unsigned m) {
    state = state * 1103515245u + 12345u;
    return (state >> 16) % m;
  };
  for (int i = 0; i < sentences; ++i) {
    if (!out.empty()) out += ' ';
    out += std::string(subjects[next(8)]) + " " + verbs[next(8)] + " " + objects[next(8)] + ".";
  }
  return out;
}

temp_dir::temp_dir() {
  std::string templ = (std::filesystem::temp_directory_path() / "jobserver-pdf-XXXXXX").string();
  if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string temp_dir::write(const std::string& name, const std::string& bytes) const {
  std::string path = file(name);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace jobserver::pdf::test
