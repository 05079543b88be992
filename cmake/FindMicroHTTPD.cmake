# FindMicroHTTPD: locate GNU libmicrohttpd (Debian: libmicrohttpd-dev).
# Result: target MicroHTTPD::MicroHTTPD, variables MicroHTTPD_FOUND, MicroHTTPD_VERSION.
include(FindPackageHandleStandardArgs)

find_path(MicroHTTPD_INCLUDE_DIR microhttpd.h)
find_library(MicroHTTPD_LIBRARY NAMES microhttpd)
if(MicroHTTPD_INCLUDE_DIR AND EXISTS "${MicroHTTPD_INCLUDE_DIR}/microhttpd.h")
  # MHD_VERSION 0x00097500 is 0.9.75
  file(STRINGS "${MicroHTTPD_INCLUDE_DIR}/microhttpd.h" v REGEX "^#define MHD_VERSION 0x[0-9a-fA-F]+")
  if(v MATCHES "0x([0-9a-fA-F][0-9a-fA-F])([0-9a-fA-F][0-9a-fA-F])([0-9a-fA-F][0-9a-fA-F])")
    math(EXPR major "0x${CMAKE_MATCH_1}")
    math(EXPR minor "0x${CMAKE_MATCH_2}")
    math(EXPR patch "0x${CMAKE_MATCH_3}")
    set(MicroHTTPD_VERSION "${major}.${minor}.${patch}")
  endif()
endif()

find_package_handle_standard_args(MicroHTTPD REQUIRED_VARS MicroHTTPD_LIBRARY MicroHTTPD_INCLUDE_DIR
  VERSION_VAR MicroHTTPD_VERSION)

if(MicroHTTPD_FOUND AND NOT TARGET MicroHTTPD::MicroHTTPD)
  add_library(MicroHTTPD::MicroHTTPD UNKNOWN IMPORTED)
  set_target_properties(MicroHTTPD::MicroHTTPD PROPERTIES
    IMPORTED_LOCATION "${MicroHTTPD_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${MicroHTTPD_INCLUDE_DIR}")
endif()
mark_as_advanced(MicroHTTPD_INCLUDE_DIR MicroHTTPD_LIBRARY)
