# Old CPUs (label "qemu"): Debian's qemu-user runs the CLI on emulated Nehalem (SSE4.2, no
# AVX), SandyBridge (AVX, no FMA) and Haswell (AVX2 + FMA; qemu 7.2 has no AVX-512, that
# path is tested natively): `legacygpu info` must start and pick the CPU's path, the small
# shared models must pass, and the digits demo must classify its samples. About 2 minutes
# in all on 2 cores. check_baseline proves that nothing outside the dispatched files uses
# more than baseline x86-64.
find_program(LG_QEMU_X86_64 qemu-x86_64)
if(NOT LG_QEMU_X86_64 OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  message(STATUS "qemu-x86_64 not found (or not an x86-64 host): the qemu tests are skipped (bash scripts/deps.sh)")
  return()
endif()

add_test(NAME qemu.baseline_objects COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/check_baseline.sh ${CMAKE_BINARY_DIR})
set_tests_properties(qemu.baseline_objects PROPERTIES LABELS qemu TIMEOUT 120)

set(LG_QEMU_PATHS Nehalem=sse41 SandyBridge=avx Haswell=avx2)
foreach(pair ${LG_QEMU_PATHS})
  string(REPLACE "=" ";" parts ${pair})
  list(GET parts 0 cpu)
  list(GET parts 1 path)
  add_test(NAME qemu.${cpu}.info COMMAND ${LG_QEMU_X86_64} -cpu ${cpu} $<TARGET_FILE:legacygpu_cli> info)
  set_tests_properties(qemu.${cpu}.info PROPERTIES LABELS qemu TIMEOUT 120
                       PASS_REGULAR_EXPRESSION "kernels:  ${path} \\(the best this CPU offers")
  foreach(model squeezenet1_1 mobilenet_v2 shufflenet_v2_x1_0 tiny_transformer)
    add_test(NAME qemu.${cpu}.${model}
             COMMAND ${LG_QEMU_X86_64} -cpu ${cpu} $<TARGET_FILE:legacygpu_cli> test-onnx ${LG_SHARED_DIR}/models/${model})
    set_tests_properties(qemu.${cpu}.${model} PROPERTIES LABELS qemu TIMEOUT 600)
  endforeach()
  add_test(NAME qemu.${cpu}.digits COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/qemu_digits.sh ${cpu}
           $<TARGET_FILE:legacygpu_cli> ${CMAKE_SOURCE_DIR})
  set_tests_properties(qemu.${cpu}.digits PROPERTIES LABELS qemu TIMEOUT 300)
endforeach()
