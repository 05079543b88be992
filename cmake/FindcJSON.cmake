# FindcJSON: locate cJSON (Debian: libcjson-dev). Uses pkg-config when present.
# Result: target cJSON::cJSON.
include(FindPackageHandleStandardArgs)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_cJSON QUIET libcjson)
endif()
find_path(cJSON_INCLUDE_DIR cJSON.h PATH_SUFFIXES cjson HINTS ${PC_cJSON_INCLUDE_DIRS})
find_library(cJSON_LIBRARY NAMES cjson HINTS ${PC_cJSON_LIBRARY_DIRS})

find_package_handle_standard_args(cJSON REQUIRED_VARS cJSON_LIBRARY cJSON_INCLUDE_DIR)

if(cJSON_FOUND AND NOT TARGET cJSON::cJSON)
  add_library(cJSON::cJSON UNKNOWN IMPORTED)
  set_target_properties(cJSON::cJSON PROPERTIES
    IMPORTED_LOCATION "${cJSON_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${cJSON_INCLUDE_DIR}")
endif()
mark_as_advanced(cJSON_INCLUDE_DIR cJSON_LIBRARY)
