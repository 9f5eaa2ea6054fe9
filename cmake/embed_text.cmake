# Generates a C++ source that holds one text file as a string, so the binary serves it
# without reading the source tree (docs/openapi.yaml at GET /openapi.yaml).
#   cmake -DSRC=<file> -DOUT=<file.cpp> -DNAMESPACE=<ns> -DFUNCTION=<name> -P embed_text.cmake
file(READ "${SRC}" text)
file(WRITE "${OUT}.tmp"
"// Generated from ${SRC} by cmake/embed_text.cmake.\n"
"#include <string>\n\n"
"namespace ${NAMESPACE} {\n\n"
"const std::string& ${FUNCTION}() {\n"
"  static const std::string text = R\"jobserver_text(${text})jobserver_text\";\n"
"  return text;\n}\n\n"
"}  // namespace ${NAMESPACE}\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
