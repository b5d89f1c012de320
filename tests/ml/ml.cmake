# ai.onnx.ml tests (label "models"): real scikit-learn pipelines written as ONNX with
# sklearn's predictions as references (generated at test time into the build folder), and
# malformed ml attributes that must fail at session creation with one clear error.
set(LG_SKLEARN_DIR ${CMAKE_BINARY_DIR}/sklearn_models)
add_test(NAME models.sklearn_make
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/ml/make_sklearn_models.py ${LG_SKLEARN_DIR})
set_tests_properties(models.sklearn_make PROPERTIES LABELS models TIMEOUT 300 FIXTURES_SETUP sklearn_models)
add_test(NAME models.sklearn COMMAND legacygpu_cli test-onnx ${LG_SKLEARN_DIR})
set_tests_properties(models.sklearn PROPERTIES LABELS models TIMEOUT 300 FIXTURES_REQUIRED sklearn_models)
add_test(NAME models.ml_bad_attributes
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/ml/test_ml_bad_models.py $<TARGET_FILE:legacygpu_cli>)
set_tests_properties(models.ml_bad_attributes PROPERTIES LABELS models TIMEOUT 300)
