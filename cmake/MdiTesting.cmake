# Test helpers.
#
# mdi_add_mpi_test(NAME <name> NPROCS <n>... COMMAND <exe> [args...]
#                  [TIMEOUT <s>] [LABELS <l>...] [PASS_REGULAR_EXPRESSION <re>]
#                  [FIXTURES_SETUP <f>...] [FIXTURES_REQUIRED <f>...])
# adds one CTest case per process count, named <name>.np<n>, launched through
# MPIEXEC_EXECUTABLE with --oversubscribe (CI machines have 2 cores) and the
# environment Open MPI needs when the suite runs as root.  "@NP@" in the
# command and fixture names is replaced by the process count.
set(MDI_MPI_TEST_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1"
  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  "OMPI_MCA_rmaps_base_oversubscribe=1"
  # keep Open MPI quiet about missing high-speed interconnects on test machines
  "OMPI_MCA_btl=self,vader,tcp"
  "OMPI_MCA_btl_vader_single_copy_mechanism=none"
  "OMPI_MCA_mpi_yield_when_idle=1")

function(mdi_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT"
    "NPROCS;COMMAND;LABELS;PASS_REGULAR_EXPRESSION;FAIL_REGULAR_EXPRESSION;FIXTURES_SETUP;FIXTURES_REQUIRED" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  foreach(np IN LISTS T_NPROCS)
    set(test_name "${T_NAME}.np${np}")
    string(REPLACE "@NP@" "${np}" cmd "${T_COMMAND}")
    add_test(NAME ${test_name}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${np} --oversubscribe
              ${MPIEXEC_PREFLAGS} ${cmd} ${MPIEXEC_POSTFLAGS})
    set_tests_properties(${test_name} PROPERTIES
      TIMEOUT ${T_TIMEOUT}
      ENVIRONMENT "${MDI_MPI_TEST_ENV};MDI_TEST_NP=${np}"
      LABELS "mpi;${T_LABELS}"
      PROCESSORS ${np})
    if(T_PASS_REGULAR_EXPRESSION)
      set_tests_properties(${test_name} PROPERTIES PASS_REGULAR_EXPRESSION "${T_PASS_REGULAR_EXPRESSION}")
    endif()
    if(T_FAIL_REGULAR_EXPRESSION)
      set_tests_properties(${test_name} PROPERTIES FAIL_REGULAR_EXPRESSION "${T_FAIL_REGULAR_EXPRESSION}")
    endif()
    foreach(kind SETUP REQUIRED)
      if(T_FIXTURES_${kind})
        string(REPLACE "@NP@" "${np}" fx "${T_FIXTURES_${kind}}")
        set_tests_properties(${test_name} PROPERTIES FIXTURES_${kind} "${fx}")
      endif()
    endforeach()
  endforeach()
endfunction()

# mdi_add_unit_test(<name> <source>...): a C test program linked with mdi_core.
function(mdi_add_unit_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE mdi_core)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 60 LABELS unit
    ENVIRONMENT "${MDI_MPI_TEST_ENV};MDI_SOURCE_DIR=${CMAKE_SOURCE_DIR};MDI_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# mdi_add_script_test(NAME <name> COMMAND <args>... [TIMEOUT s] [LABELS l...]):
# a shell-driven test that gets the build and source directories in its environment.
function(mdi_add_script_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  add_test(NAME ${T_NAME} COMMAND ${T_COMMAND})
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "script;${T_LABELS}"
    ENVIRONMENT "${MDI_MPI_TEST_ENV};MDI_SOURCE_DIR=${CMAKE_SOURCE_DIR};MDI_BINARY_DIR=${CMAKE_BINARY_DIR};MPIEXEC=${MPIEXEC_EXECUTABLE}")
endfunction()
