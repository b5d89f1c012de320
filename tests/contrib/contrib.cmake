# com.microsoft contrib operators (label "models"): cases with numpy reference values
# (tests/contrib/make_contrib_cases.py), generated at test time into the build folder and
# run by test-onnx. tests/contrib/ort_crosscheck.mjs compares the same references with
# ONNX Runtime locally (not in CI).
set(LG_CONTRIB_DIR ${CMAKE_BINARY_DIR}/contrib_cases)
add_test(NAME models.contrib_make
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/contrib/make_contrib_cases.py ${LG_CONTRIB_DIR})
set_tests_properties(models.contrib_make PROPERTIES LABELS models TIMEOUT 300 FIXTURES_SETUP contrib_cases)
add_test(NAME models.contrib COMMAND legacygpu_cli test-onnx ${LG_CONTRIB_DIR})
set_tests_properties(models.contrib PROPERTIES LABELS models TIMEOUT 300 FIXTURES_REQUIRED contrib_cases)
# The same kernels on float16 tensors (converted at the kernel boundary): float16 tolerance.
add_test(NAME models.contrib_half_make
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/contrib/make_contrib_cases.py ${LG_CONTRIB_DIR}_half --half)
set_tests_properties(models.contrib_half_make PROPERTIES LABELS models TIMEOUT 300 FIXTURES_SETUP contrib_half_cases)
add_test(NAME models.contrib_half COMMAND legacygpu_cli test-onnx --atol 1e-3 --rtol 4e-3 ${LG_CONTRIB_DIR}_half)
set_tests_properties(models.contrib_half PROPERTIES LABELS models TIMEOUT 300 FIXTURES_REQUIRED contrib_half_cases)
