# image.cmake: the unit test of image decoding, preprocessing, model configs and
# repositories (tests/unit/test_image.c). Included from tests/CMakeLists.txt; a no-op
# when the unit-test glob there has already made the target.
if(NOT TARGET test_image)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  add_executable(test_image ${CMAKE_CURRENT_LIST_DIR}/test_image.c)
  target_include_directories(test_image PRIVATE ${CMAKE_SOURCE_DIR}/src)
  target_compile_definitions(test_image PRIVATE _GNU_SOURCE)
  target_link_libraries(test_image PRIVATE legacygpu PkgConfig::CMOCKA)
  add_test(NAME unit.image COMMAND test_image)
  set_tests_properties(unit.image PROPERTIES LABELS unit TIMEOUT 300)
endif()
