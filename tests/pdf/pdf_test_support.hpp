#pragma once

// Helpers shared by the pdf tests: running the extractor on a generated file and
// searching its output.

#include <string>
#include <vector>

#include "pdf/extractor.hpp"
#include "pdf_writer.hpp"

namespace jobserver::pdf::test {

/// Writes `spec` into `dir` as `name` and extracts it with default options.
document_structure extract_spec(const temp_dir& dir, const pdf_spec& spec,
                                const std::string& name = "doc.pdf");

std::vector<std::string> section_names(const document_structure& doc);

/// All sections' markdown, concatenated.
std::string all_markdown(const document_structure& doc);

/// Lines of `text` (split at '\n').
std::vector<std::string> lines_of(const std::string& text);

/// Runs a shell command; returns its exit status.
int run(const std::string& command);

}  // namespace jobserver::pdf::test
