# Generates a C++ source holding every file of web/ (the browser UI: HTML, CSS, ES
# modules), so the server serves its UI from any working directory and when installed.
# Run at build time by http/CMakeLists.txt. Files are embedded as raw string literals;
# only text files are allowed (the UI has no images).
file(GLOB files "${SRC_DIR}/*")
list(SORT files)
set(body "")
foreach(f ${files})
  if(IS_DIRECTORY "${f}")
    continue()
  endif()
  get_filename_component(name "${f}" NAME)
  if(name MATCHES "^\\.")
    continue()  # editor and OS files (.swp, .DS_Store)
  endif()
  if(NOT name MATCHES "^[A-Za-z0-9_-]+\\.(html|css|js|mjs|svg|txt|json)$")
    message(FATAL_ERROR "web/${name}: only flat .html/.css/.js/.svg/.txt/.json files are embedded")
  endif()
  file(READ "${f}" text)
  string(FIND "${text}" ")jobserver_web\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "web/${name} contains the raw-string delimiter )jobserver_web\"")
  endif()
  string(APPEND body "  {\"/${name}\", R\"jobserver_web(${text})jobserver_web\"},\n")
endforeach()
file(WRITE "${OUT}.tmp"
"// Generated from web/* by cmake/embed_web.cmake.\n"
"#include \"http/web_assets.hpp\"\n\n"
"namespace jobserver::http {\n\n"
"const std::vector<web_asset>& embedded_web_assets() {\n"
"  static const std::vector<web_asset> all = {\n${body}  };\n  return all;\n}\n\n"
"}  // namespace jobserver::http\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
