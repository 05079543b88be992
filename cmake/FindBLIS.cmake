# FindBLIS: locate the BLIS library and its header.
# Debian ships no pkg-config file for BLIS and installs the header in a
# threading-specific subdirectory (blis-openmp/ or blis-pthread/).
# Result: target BLIS::BLIS, variables BLIS_FOUND, BLIS_INCLUDE_DIR, BLIS_LIBRARY.
include(FindPackageHandleStandardArgs)

set(_blis_multiarch "${CMAKE_LIBRARY_ARCHITECTURE}")
find_path(BLIS_INCLUDE_DIR blis.h
  PATH_SUFFIXES blis-openmp blis-pthread blis-serial blis
                "${_blis_multiarch}/blis-openmp" "${_blis_multiarch}/blis-pthread"
                "${_blis_multiarch}/blis-serial")
find_library(BLIS_LIBRARY NAMES blis
  PATH_SUFFIXES blis-openmp blis-pthread blis-serial
                "${_blis_multiarch}/blis-openmp" "${_blis_multiarch}/blis-pthread")

find_package_handle_standard_args(BLIS REQUIRED_VARS BLIS_LIBRARY BLIS_INCLUDE_DIR)

if(BLIS_FOUND AND NOT TARGET BLIS::BLIS)
  add_library(BLIS::BLIS UNKNOWN IMPORTED)
  set_target_properties(BLIS::BLIS PROPERTIES
    IMPORTED_LOCATION "${BLIS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${BLIS_INCLUDE_DIR}")
endif()
mark_as_advanced(BLIS_INCLUDE_DIR BLIS_LIBRARY)
