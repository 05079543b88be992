# The architecture in the folders, checked (docs: README.md "Layout").
#   cmake -DSOURCE_DIR=<repository> -P check_layout.cmake
# Fails, listing every violation, when
#  - a file includes a third-party header outside the module that owns it
#    (MPI only in src/ring/comm.c, HDF5 only in src/model/weights_h5.c, ...);
#  - a library reaches across the include graph: base sees only base; model
#    sees base and model; ring sees base, model and ring; app sees base,
#    model and app (never the ring); the converters (weights-tools) see base
#    and model; only src/mdi_pipeline.c sees everything;
#  - a file includes a header that is neither a standard C/POSIX one, nor a
#    project header, nor registered below with its owner.
cmake_minimum_required(VERSION 3.18)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=<repository> -P check_layout.cmake")
endif()

# Third-party headers and the one file (or folder, ending in /) allowed to include them.
set(OWNERS
  "mpi.h=src/ring/comm.c"
  "hdf5.h=src/model/weights_h5.c"
  "iniparser.h=src/app/config.c"
  "microhttpd.h=src/app/http.c"
  "oniguruma.h=src/model/regex.c"
  "utf8proc.h=src/model/unicode.c"
  "omp.h=src/model/"
  "immintrin.h=src/model/"
  "arm_neon.h=src/model/")
# Standard C11 and POSIX headers: anyone may include them.
set(SYSTEM_HEADERS
  assert.h ctype.h errno.h fcntl.h float.h inttypes.h limits.h math.h sched.h signal.h stdarg.h
  stdatomic.h stdbool.h stddef.h stdint.h stdio.h stdlib.h string.h strings.h time.h unistd.h
  pthread.h poll.h termios.h dirent.h libgen.h
  sys/file.h sys/mman.h sys/resource.h sys/stat.h sys/time.h sys/types.h sys/wait.h sys/statvfs.h
  sys/socket.h sys/select.h sys/ioctl.h netinet/in.h arpa/inet.h netdb.h)
# Which project libraries each part may include (mdi/<library>/...).
set(MAY_base base)
set(MAY_model base model)
set(MAY_ring base model ring)
set(MAY_app base model app)
set(MAY_tools base model)
set(MAY_main base model ring app)

function(part_of rel out)
  if(rel MATCHES "^(src|include/mdi)/(base|model|ring|app)/")
    set(${out} ${CMAKE_MATCH_2} PARENT_SCOPE)
  elseif(rel MATCHES "^weights-tools/")
    set(${out} tools PARENT_SCOPE)
  elseif(rel MATCHES "^src/[^/]+\\.c$")
    set(${out} main PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE files RELATIVE ${SOURCE_DIR}
  ${SOURCE_DIR}/src/*.c ${SOURCE_DIR}/src/*.h ${SOURCE_DIR}/include/*.h
  ${SOURCE_DIR}/weights-tools/*.c ${SOURCE_DIR}/weights-tools/*.h)
set(errors "")
set(checked 0)
foreach(rel IN LISTS files)
  part_of(${rel} part)
  if(NOT part)
    string(APPEND errors "  ${rel}: not in a known part (src/{base,model,ring,app}, include/mdi/<library>, weights-tools)\n")
    continue()
  endif()
  get_filename_component(dir ${rel} DIRECTORY)
  file(STRINGS ${SOURCE_DIR}/${rel} lines REGEX "^[ \t]*#[ \t]*include")
  foreach(line IN LISTS lines)
    math(EXPR checked "${checked} + 1")
    if(line MATCHES "#[ \t]*include[ \t]*<([^>]+)>")
      set(h ${CMAKE_MATCH_1})
      if(h IN_LIST SYSTEM_HEADERS)
        continue()
      endif()
      set(owner "")
      foreach(entry IN LISTS OWNERS)
        string(REGEX MATCH "^([^=]+)=(.*)$" m "${entry}")
        if(CMAKE_MATCH_1 STREQUAL h)
          set(owner ${CMAKE_MATCH_2})
        endif()
      endforeach()
      if(NOT owner)
        string(APPEND errors "  ${rel}: <${h}> is not a standard header and has no owner in tests/layout/check_layout.cmake\n")
      elseif(owner MATCHES "/$")
        string(FIND "${rel}" "${owner}" at)
        if(NOT at EQUAL 0)
          string(APPEND errors "  ${rel}: <${h}> belongs to ${owner} only\n")
        endif()
      elseif(NOT rel STREQUAL owner)
        string(APPEND errors "  ${rel}: <${h}> belongs to ${owner} only\n")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*\"mdi/([a-z]+)/[^\"]+\"")
      set(lib ${CMAKE_MATCH_1})
      if(NOT lib IN_LIST MAY_${part})
        string(REPLACE ";" ", " may "${MAY_${part}}")
        string(APPEND errors "  ${rel}: includes mdi/${lib}/ but the ${part} part may only include ${may}\n")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*\"([^\"/]+)\"")
      if(NOT EXISTS ${SOURCE_DIR}/${dir}/${CMAKE_MATCH_1})
        string(APPEND errors "  ${rel}: \"${CMAKE_MATCH_1}\" is not a header of its own folder\n")
      endif()
    else()
      string(APPEND errors "  ${rel}: unexpected include line: ${line}\n")
    endif()
  endforeach()
endforeach()
list(LENGTH files n)
if(errors)
  message(FATAL_ERROR "layout: violations of the include rules:\n${errors}")
endif()
message(STATUS "layout: ${n} files, ${checked} include lines follow the rules")
