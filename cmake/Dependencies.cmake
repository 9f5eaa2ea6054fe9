# Finds every dependency among Debian 12 packages. A missing one stops the configure
# step with a line naming the package to install (scripts/setup.sh installs them all).
find_package(PkgConfig QUIET)
if(NOT PkgConfig_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config (or run scripts/setup.sh)")
endif()
find_package(Threads REQUIRED)

# jobserver_pkg(<target-name> <pkg-config module> <debian package>)
function(jobserver_pkg name module debian)
  pkg_check_modules(${name} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${name}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debian} (or run scripts/setup.sh)")
  endif()
endfunction()

jobserver_pkg(PQXX libpqxx libpqxx-dev)
jobserver_pkg(HIREDIS hiredis libhiredis-dev)
jobserver_pkg(HTTPLIB cpp-httplib libcpp-httplib-dev)
jobserver_pkg(JWT libjwt libjwt-dev)
jobserver_pkg(UUID uuid uuid-dev)
jobserver_pkg(SPDLOG spdlog libspdlog-dev)
# pdf/ reads text through Poppler's core layout classes (TextOutputDev), whose headers are
# in libpoppler-private-dev: poppler-cpp's text_list() costs ~3x pdftotext's time.
jobserver_pkg(POPPLER poppler libpoppler-private-dev)
find_path(POPPLER_TEXT_OUTPUT_DEV poppler/TextOutputDev.h)
if(NOT POPPLER_TEXT_OUTPUT_DEV)
  message(FATAL_ERROR "poppler/TextOutputDev.h not found: apt-get install libpoppler-private-dev (or run scripts/setup.sh)")
endif()

# CAF 0.17 ships no CMake package and no pkg-config file: find its libraries.
find_path(CAF_INCLUDE_DIR caf/all.hpp)
find_library(CAF_CORE_LIBRARY caf_core)
find_library(CAF_IO_LIBRARY caf_io)
if(NOT CAF_INCLUDE_DIR OR NOT CAF_CORE_LIBRARY OR NOT CAF_IO_LIBRARY)
  message(FATAL_ERROR "CAF (caf_core, caf_io) not found: apt-get install libcaf-dev (or run scripts/setup.sh)")
endif()
add_library(CAF::core SHARED IMPORTED GLOBAL)
set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}" INTERFACE_LINK_LIBRARIES Threads::Threads)
add_library(CAF::io SHARED IMPORTED GLOBAL)
set_target_properties(CAF::io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
  INTERFACE_LINK_LIBRARIES CAF::core)

find_path(RAPIDJSON_INCLUDE_DIR rapidjson/document.h)
if(NOT RAPIDJSON_INCLUDE_DIR)
  message(FATAL_ERROR "RapidJSON not found: apt-get install rapidjson-dev (or run scripts/setup.sh)")
endif()
add_library(RapidJSON INTERFACE IMPORTED GLOBAL)
set_target_properties(RapidJSON PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${RAPIDJSON_INCLUDE_DIR}"
  INTERFACE_COMPILE_DEFINITIONS "RAPIDJSON_HAS_STDSTRING=1")

find_package(OpenSSL QUIET)
if(NOT OpenSSL_FOUND)
  message(FATAL_ERROR "OpenSSL not found: apt-get install libssl-dev (or run scripts/setup.sh)")
endif()

if(JOBSERVER_BUILD_TESTS)
  find_package(Catch2 2 QUIET)
  if(NOT Catch2_FOUND)
    message(FATAL_ERROR "Catch2 not found: apt-get install catch2 (or run scripts/setup.sh)")
  endif()
endif()
