# Configures, builds and runs tests/subproject, a project using xgrad through add_subdirectory, and
# checks that it got the library only: no CLI11 or doctest looked up, no xgrad program or tests
# built, no -march=native, the parent's CMAKE_BUILD_TYPE left as the parent set it (empty) and the
# library then compiled with -O2; the build and run are then done as a Debug build (faster to compile).
# Usage: cmake -DXGRAD_SOURCE_DIR=<checkout> -DWORK_DIR=<scratch dir> [-DUNITY_BUILD=ON [-DUNITY_BATCH=N]]
#   -P run.cmake   (UNITY_BUILD: build the parent as a unity build too, as the calling build was).
function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "subproject: `${ARGN}` failed (${rc}):\n${out}")
  endif()
  set(output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(options "")
if(UNITY_BUILD)
  list(APPEND options -DCMAKE_UNITY_BUILD=ON)
  if(UNITY_BATCH)
    list(APPEND options -DCMAKE_UNITY_BUILD_BATCH_SIZE=${UNITY_BATCH})
  endif()
endif()
find_program(CCACHE ccache)
if(CCACHE)
  list(APPEND options -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE})
endif()
run(${CMAKE_COMMAND} -S ${XGRAD_SOURCE_DIR}/tests/subproject -B ${WORK_DIR} -DXGRAD_SOURCE_DIR=${XGRAD_SOURCE_DIR}
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON ${options})

file(READ ${WORK_DIR}/CMakeCache.txt cache)
string(REGEX MATCH "\nCMAKE_BUILD_TYPE:[A-Z]*=([^\n]*)" _ "${cache}")
if(NOT "${CMAKE_MATCH_1}" STREQUAL "")
  message(FATAL_ERROR "subproject: the parent's CMAKE_BUILD_TYPE was changed to '${CMAKE_MATCH_1}'")
endif()
foreach(setting "XGRAD_NATIVE:BOOL=OFF" "XGRAD_BUILD_TOOLS:BOOL=OFF" "XGRAD_BUILD_TESTS:BOOL=OFF")
  string(FIND "${cache}" "${setting}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "subproject: expected ${setting} in the cache")
  endif()
endforeach()
foreach(package CLI11_DIR doctest_DIR)
  string(FIND "${cache}" "${package}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "subproject: a library-only build looked for ${package}")
  endif()
endforeach()

file(STRINGS ${WORK_DIR}/compile_commands.json native REGEX "march=native")
if(native)
  message(FATAL_ERROR "subproject: -march=native was used")
endif()
file(STRINGS ${WORK_DIR}/compile_commands.json optimised REGEX " -O2 ")
if(NOT optimised)
  message(FATAL_ERROR "subproject: the library is not compiled with -O2 when the parent sets no build type")
endif()

# The build itself only has to show that the library compiles, links and works inside the parent:
# an unoptimised Debug build without debug info does that at a fraction of the -O2 build's cost.
run(${CMAKE_COMMAND} -S ${XGRAD_SOURCE_DIR}/tests/subproject -B ${WORK_DIR} -DCMAKE_BUILD_TYPE=Debug
    "-DCMAKE_CXX_FLAGS_DEBUG=-O0")
run(${CMAKE_COMMAND} --build ${WORK_DIR} -j2)
foreach(program xgrad xgrad_tests)
  if(EXISTS ${WORK_DIR}/xgrad/${program})
    message(FATAL_ERROR "subproject: ${program} was built")
  endif()
endforeach()

run(${WORK_DIR}/app)
string(FIND "${output}" "consumer: ok" at)
if(at EQUAL -1)
  message(FATAL_ERROR "subproject: the app did not finish:\n${output}")
endif()
message(STATUS "subproject: ${output}")
