# cluster.cmake: registers each scenario of tests/cluster/test_*.py (their
# `def test_<name>(t):  # timeout: S` lines) as CTest test cluster.<name>, label "cluster".
# Each runs real processes on 127.0.0.1 in its own scratch folder.
file(GLOB LG_CLUSTER_DRIVERS ${CMAKE_CURRENT_LIST_DIR}/test_*.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${LG_CLUSTER_DRIVERS}
             ${CMAKE_CURRENT_LIST_DIR}/cluster_lib.py)
foreach(LG_CLUSTER_DRIVER ${LG_CLUSTER_DRIVERS})
  file(STRINGS ${LG_CLUSTER_DRIVER} LG_CLUSTER_SCENARIOS REGEX "^def test_[a-z0-9_]+\\(t\\):")
  foreach(line ${LG_CLUSTER_SCENARIOS})
    string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(t\\):.*" "\\1" name "${line}")
    set(timeout 60)
    if(line MATCHES "# timeout: ([0-9]+)")
      set(timeout ${CMAKE_MATCH_1})
    endif()
    add_test(NAME cluster.${name}
             COMMAND /usr/bin/python3 ${LG_CLUSTER_DRIVER} $<TARGET_FILE:legacygpu_cli> ${CMAKE_SOURCE_DIR}
                     ${CMAKE_CURRENT_BINARY_DIR}/cluster/${name} ${name} ${timeout})
    set_tests_properties(cluster.${name} PROPERTIES LABELS cluster TIMEOUT ${timeout} SKIP_RETURN_CODE 77)
  endforeach()
endforeach()
