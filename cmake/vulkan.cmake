# cmake/vulkan.cmake: the Vulkan backend. LG_VULKAN is ON when pkg-config finds `vulkan`,
# glslc exists and python3 runs (OFF otherwise, with a message). Every
# src/backends/vulkan/shaders/*.comp is compiled by glslc into three SPIR-V variants
# (fp32; LG_FP16=1: fp16 storage; LG_FP16=1 LG_FP16_MATH=1: fp16 storage and arithmetic)
# and embedded in the library by scripts/vk_embed.py (table in vk_spirv.h).
pkg_check_modules(VULKAN IMPORTED_TARGET vulkan)
find_program(GLSLC glslc)
find_package(Python3 COMPONENTS Interpreter)
if(VULKAN_FOUND AND GLSLC AND Python3_Interpreter_FOUND)
  set(LG_VULKAN_DEFAULT ON)
else()
  set(LG_VULKAN_DEFAULT OFF)
endif()
option(LG_VULKAN "Build the Vulkan backend (needs libvulkan-dev and glslc)" ${LG_VULKAN_DEFAULT})

if(NOT LG_VULKAN)
  if(LG_VULKAN_DEFAULT)
    message(STATUS "Vulkan backend: OFF (LG_VULKAN=OFF)")
  else()
    message(STATUS "Vulkan backend: OFF (pkg-config vulkan: ${VULKAN_FOUND}, glslc: ${GLSLC}, python3: "
                   "${Python3_Interpreter_FOUND}; apt-get install libvulkan-dev glslc python3)")
  endif()
  return()
endif()
if(NOT VULKAN_FOUND OR NOT GLSLC OR NOT Python3_Interpreter_FOUND)
  message(FATAL_ERROR "LG_VULKAN=ON needs pkg-config's vulkan (libvulkan-dev), glslc and python3")
endif()
message(STATUS "Vulkan backend: ON (vulkan ${VULKAN_VERSION}, ${GLSLC})")

set(LG_VK_DIR ${CMAKE_SOURCE_DIR}/src/backends/vulkan)
file(GLOB LG_VK_SOURCES CONFIGURE_DEPENDS ${LG_VK_DIR}/*.c)
file(GLOB LG_VK_SHADERS CONFIGURE_DEPENDS ${LG_VK_DIR}/shaders/*.comp)
file(GLOB LG_VK_INCLUDES CONFIGURE_DEPENDS ${LG_VK_DIR}/shaders/*.glsl)
set(LG_VK_SPV_DIR ${CMAKE_BINARY_DIR}/shaders)
file(MAKE_DIRECTORY ${LG_VK_SPV_DIR})

set(LG_VK_VARIANT_0 "")
set(LG_VK_VARIANT_1 -DLG_FP16=1)
set(LG_VK_VARIANT_2 -DLG_FP16=1 -DLG_FP16_MATH=1)
set(LG_VK_EMBED_ARGS)
set(LG_VK_SPVS)
foreach(comp ${LG_VK_SHADERS})
  get_filename_component(name ${comp} NAME_WE)
  list(APPEND LG_VK_EMBED_ARGS ${name})
  foreach(v 0 1 2)
    set(spv ${LG_VK_SPV_DIR}/${name}.${v}.spv)
    add_custom_command(
      OUTPUT ${spv}
      COMMAND ${GLSLC} --target-env=vulkan1.1 -O -fshader-stage=compute -I${LG_VK_DIR}/shaders
              ${LG_VK_VARIANT_${v}} ${comp} -o ${spv}
      DEPENDS ${comp} ${LG_VK_INCLUDES}
      COMMENT "glslc ${name}.comp (variant ${v})"
      VERBATIM)
    list(APPEND LG_VK_EMBED_ARGS ${spv})
    list(APPEND LG_VK_SPVS ${spv})
  endforeach()
endforeach()

set(LG_VK_EMBED_C ${CMAKE_BINARY_DIR}/gen/vk_shaders.c)
add_custom_command(
  OUTPUT ${LG_VK_EMBED_C}
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/scripts/vk_embed.py ${LG_VK_EMBED_C} ${LG_VK_EMBED_ARGS}
  DEPENDS ${LG_VK_SPVS} ${CMAKE_SOURCE_DIR}/scripts/vk_embed.py
  COMMENT "Embedding the SPIR-V of the Vulkan shaders"
  VERBATIM)

target_sources(legacygpu PRIVATE ${LG_VK_SOURCES} ${LG_VK_EMBED_C})
target_compile_definitions(legacygpu PUBLIC LG_HAVE_VULKAN)
target_link_libraries(legacygpu PUBLIC PkgConfig::VULKAN)
