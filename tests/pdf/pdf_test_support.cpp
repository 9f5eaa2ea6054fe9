#include "pdf_test_support.hpp"

#include <cstdlib>
#include <sstream>

namespace jobserver::pdf::test {

document_structure extract_spec(const temp_dir& dir, const pdf_spec& spec,
                                const std::string& name) {
  return extract_structure(dir.write(name, render_pdf(spec)), extract_options{});
}

std::vector<std::string> section_names(const document_structure& doc) {
  std::vector<std::string> names;
  for (const auto& s : doc.sections) names.push_back(s.name);
  return names;
}

std::string all_markdown(const document_structure& doc) {
  std::string out;
  for (const auto& s : doc.sections) out += s.markdown + "\n\n";
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

int run(const std::string& command) {
  int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace jobserver::pdf::test
