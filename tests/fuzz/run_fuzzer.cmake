# Run one libFuzzer target under ctest (see lt_add_fuzzer in CMakeLists.txt):
#   cmake -DFUZZER=exe -DCORPUS=dir -DWORK=dir [-DDICT=file] -P run_fuzzer.cmake
# The seed corpus is copied to WORK/corpus first, since libFuzzer adds every
# new input it finds to its corpus folder and the committed seeds stay small.
set(seconds 60)
if(DEFINED ENV{LT_FUZZ_SECONDS} AND NOT "$ENV{LT_FUZZ_SECONDS}" STREQUAL "")
  set(seconds "$ENV{LT_FUZZ_SECONDS}")
endif()
if(NOT seconds MATCHES "^[0-9]+$" OR seconds EQUAL 0)
  message(FATAL_ERROR "LT_FUZZ_SECONDS must be a positive number of seconds, not '${seconds}'")
endif()
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
file(GLOB seeds "${CORPUS}/*")
if(seeds)
  file(COPY ${seeds} DESTINATION "${WORK}/corpus")
endif()
set(args -max_total_time=${seconds} -rss_limit_mb=2048 -malloc_limit_mb=512
         -timeout=30 -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if(DICT)
  list(APPEND args -dict=${DICT})
endif()
message(STATUS "fuzzing ${FUZZER} for ${seconds}s on a copy of ${CORPUS}")
execute_process(COMMAND "${FUZZER}" ${args} "${WORK}/corpus" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found "${WORK}/artifacts/*")
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproducer: ${found}")
endif()
