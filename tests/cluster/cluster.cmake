# cluster.cmake: registers each scenario of tests/cluster/test_*.py (test_cluster.py,
# test_security.py, test_faults.py, test_partitions.py: their `def test_<name>(t):  #
# timeout: S` lines) as CTest test cluster.<name>, label "cluster" (and "faults" for
# test_faults.py and test_partitions.py). Each runs real
# processes on 127.0.0.1 in its own scratch folder; exit code 77 means skipped (a
# scenario that needs root on a machine without it says why).
foreach(driver test_cluster test_security test_faults test_partitions)
  set(path ${CMAKE_CURRENT_LIST_DIR}/${driver}.py)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path} ${CMAKE_CURRENT_LIST_DIR}/cluster_lib.py)
  file(STRINGS ${path} scenarios REGEX "^def test_[a-z0-9_]+\\(t\\):")
  set(labels cluster)
  if(driver STREQUAL "test_faults" OR driver STREQUAL "test_partitions")
    set(labels cluster faults)
  endif()
  foreach(line ${scenarios})
    string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(t\\):.*" "\\1" name "${line}")
    set(timeout 60)
    if(line MATCHES "# timeout: ([0-9]+)")
      set(timeout ${CMAKE_MATCH_1})
    endif()
    add_test(NAME cluster.${name}
             COMMAND /usr/bin/python3 ${path} $<TARGET_FILE:legacygpu_cli> ${CMAKE_SOURCE_DIR}
                     ${CMAKE_CURRENT_BINARY_DIR}/cluster/${name} ${name} ${timeout})
    set_tests_properties(cluster.${name} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout} SKIP_RETURN_CODE 77)
  endforeach()
endforeach()

# The REST API fuzzer (tests/fuzz_api/fuzz_api.py) for 15 s in every build; scripts/test.sh
# runs it for 60 s against the sanitizer build.
add_test(NAME cluster.api_fuzz
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/fuzz_api/fuzz_api.py $<TARGET_FILE:legacygpu_cli>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_CURRENT_BINARY_DIR}/cluster/api_fuzz 15)
set_tests_properties(cluster.api_fuzz PROPERTIES LABELS "cluster;faults" TIMEOUT 120)
