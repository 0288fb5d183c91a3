# ctest's "package" test: installs the built xgrad into a fresh prefix, builds tests/consumer against
# it with find_package(xgrad), and runs it (define a net, train a few steps, save, load).
set(work ${XGRAD_BUILD_DIR}/package-test)
file(REMOVE_RECURSE ${work})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
  message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install ${XGRAD_BUILD_DIR} --prefix ${work}/prefix)
run(${CMAKE_COMMAND} -S ${XGRAD_CONSUMER_DIR} -B ${work}/build -DCMAKE_PREFIX_PATH=${work}/prefix
    -DCMAKE_CXX_COMPILER=${XGRAD_CXX} -DCMAKE_CXX_COMPILER_LAUNCHER=${XGRAD_LAUNCHER})
run(${CMAKE_COMMAND} --build ${work}/build)
run(${work}/build/consumer ${work}/model.json)
