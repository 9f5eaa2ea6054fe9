# Generates a C++ source holding every persistence/migrations/NNN_*.sql file, in order,
# so the server binary carries its schema. Run at build time by persistence/CMakeLists.txt.
file(GLOB files "${SRC_DIR}/*.sql")
list(SORT files)
set(body "")
foreach(f ${files})
  get_filename_component(name "${f}" NAME_WE)
  string(REGEX MATCH "^[0-9]+" version "${name}")
  string(REGEX REPLACE "^0+([0-9])" "\\1" version "${version}")  # 008 is not octal
  file(READ "${f}" sql)
  string(APPEND body "  {${version}, \"${name}\", R\"jobserver_sql(${sql})jobserver_sql\"},\n")
endforeach()
file(WRITE "${OUT}.tmp"
"// Generated from persistence/migrations/*.sql by cmake/embed_migrations.cmake.\n"
"#include \"persistence/migrations.hpp\"\n\n"
"namespace jobserver::persistence {\n\n"
"const std::vector<migration>& embedded_migrations() {\n"
"  static const std::vector<migration> all = {\n${body}  };\n  return all;\n}\n\n"
"}  // namespace jobserver::persistence\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
