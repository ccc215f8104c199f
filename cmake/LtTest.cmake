# Helpers to register tests. Every class self-test is its own ctest, run by the
# lt_selftest driver of its library, so `ctest -R lt_ltp` runs one class.

# lt_add_selftest(DRIVER class [TIMEOUT seconds])
function(lt_add_selftest driver class)
  cmake_parse_arguments(A "" "TIMEOUT" "" ${ARGN})
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 60)
  endif()
  add_test(NAME ${class} COMMAND ${driver} -t ${class})
  set_tests_properties(${class} PROPERTIES TIMEOUT ${A_TIMEOUT}
    LABELS selftest
    ENVIRONMENT "LT_FIXTURES=${LT_FIXTURES};LT_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()
