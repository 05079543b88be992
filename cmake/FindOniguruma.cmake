# FindOniguruma: locate Oniguruma, the regular-expression engine of Hugging
# Face tokenizers (Debian: libonig-dev). Uses pkg-config when present.
# Result: target Oniguruma::Oniguruma.
include(FindPackageHandleStandardArgs)
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(PC_Oniguruma QUIET oniguruma)
endif()
find_path(Oniguruma_INCLUDE_DIR oniguruma.h HINTS ${PC_Oniguruma_INCLUDE_DIRS})
find_library(Oniguruma_LIBRARY NAMES onig HINTS ${PC_Oniguruma_LIBRARY_DIRS})

find_package_handle_standard_args(Oniguruma REQUIRED_VARS Oniguruma_LIBRARY Oniguruma_INCLUDE_DIR)

if(Oniguruma_FOUND AND NOT TARGET Oniguruma::Oniguruma)
  add_library(Oniguruma::Oniguruma UNKNOWN IMPORTED)
  set_target_properties(Oniguruma::Oniguruma PROPERTIES
    IMPORTED_LOCATION "${Oniguruma_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${Oniguruma_INCLUDE_DIR}")
endif()
mark_as_advanced(Oniguruma_INCLUDE_DIR Oniguruma_LIBRARY)
