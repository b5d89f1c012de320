# packaging/install.cmake: what `cmake --install` puts where (GNU layout), and the Debian
# package `cpack -G DEB` builds from it (its Depends found by dpkg-shlibdeps):
#   bin/legacygpu, lib/liblegacygpu.a + liblegacygpu_onnx.a, include/legacygpu/*.h,
#   lib/pkgconfig/legacygpu.pc, share/man/man1/legacygpu.1,
#   share/bash-completion/completions/legacygpu, lib/systemd/system/legacygpu-*.service,
#   share/doc/legacygpu/*.md.
# Included from the top CMakeLists.txt after the targets are defined.
include(GNUInstallDirs)

set_target_properties(lg_onnx_proto PROPERTIES OUTPUT_NAME legacygpu_onnx)
install(TARGETS legacygpu_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS legacygpu lg_onnx_proto ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/legacygpu DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")

# pkg-config: prefix relative to the .pc file, so the same file is right under /usr/local
# (cmake --install) and /usr (the package).
file(RELATIVE_PATH LG_PC_UP ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" LG_PC_UP "${LG_PC_UP}")
set(LG_PC_PREFIX "\${pcfiledir}/${LG_PC_UP}")
set(LG_PC_VULKAN "")
if(LG_VULKAN)
  set(LG_PC_VULKAN " vulkan") # the Vulkan backend links the loader
endif()
configure_file(${CMAKE_SOURCE_DIR}/packaging/legacygpu.pc.in ${CMAKE_BINARY_DIR}/packaging/legacygpu.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/packaging/legacygpu.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${CMAKE_SOURCE_DIR}/packaging/legacygpu.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

# Bash completion, printed by the binary just built (`legacygpu completion bash`).
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/packaging/legacygpu.bash-completion
  COMMAND $<TARGET_FILE:legacygpu_cli> completion bash > ${CMAKE_BINARY_DIR}/packaging/legacygpu.bash-completion
  DEPENDS legacygpu_cli
  COMMENT "Writing the bash completion script")
add_custom_target(lg_bash_completion ALL DEPENDS ${CMAKE_BINARY_DIR}/packaging/legacygpu.bash-completion)
install(FILES ${CMAKE_BINARY_DIR}/packaging/legacygpu.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME legacygpu)

# systemd units (docs/deployment.md); ExecStart finds the binary on systemd's own PATH.
install(FILES ${CMAKE_SOURCE_DIR}/packaging/legacygpu-coordinator.service
              ${CMAKE_SOURCE_DIR}/packaging/legacygpu-worker.service DESTINATION lib/systemd/system)

file(GLOB LG_DOCS ${CMAKE_SOURCE_DIR}/docs/*.md)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${LG_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The Debian package: cpack -G DEB (from the build folder).
set(CPACK_PACKAGE_NAME legacygpu)
set(CPACK_PACKAGE_VENDOR "legacygpu")
set(CPACK_PACKAGE_CONTACT "legacygpu maintainers <legacygpu@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ONNX inference engine and cluster for legacy GPUs and CPUs")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/legacygpu/legacygpu")
set(CPACK_STRIP_FILES OFF)
include(CPack)
