# Installs the CMake package (find_package(llmrt CONFIG)) and the pkg-config files.
include(CMakePackageConfigHelpers)

set(LLMRT_INSTALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/llmrt)
set(LLMRT_INSTALL_PLUGIN_DIR ${CMAKE_INSTALL_LIBDIR}/${LLMRT_PLUGIN_SUBDIR})

install(EXPORT llmrtTargets NAMESPACE llmrt:: DESTINATION ${LLMRT_INSTALL_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/llmrtConfig.cmake.in
  ${PROJECT_BINARY_DIR}/llmrtConfig.cmake
  INSTALL_DESTINATION ${LLMRT_INSTALL_CMAKE_DIR}
  PATH_VARS LLMRT_INSTALL_PLUGIN_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/llmrtConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/llmrtConfig.cmake
  ${PROJECT_BINARY_DIR}/llmrtConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/llmrtPluginHelpers.cmake
  ${PROJECT_SOURCE_DIR}/cmake/llmrt_plugin.map
  DESTINATION ${LLMRT_INSTALL_CMAKE_DIR})

# Relocatable: the prefix is found from the .pc file's own location, so `cmake --install --prefix`
# anywhere gives working pkg-config files.
file(RELATIVE_PATH LLMRT_PC_RELATIVE_PREFIX /root/${CMAKE_INSTALL_LIBDIR}/pkgconfig /root)
configure_file(${PROJECT_SOURCE_DIR}/cmake/llmrt.pc.in ${PROJECT_BINARY_DIR}/llmrt.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/llmrt-plugin.pc.in ${PROJECT_BINARY_DIR}/llmrt-plugin.pc
  @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/llmrt.pc ${PROJECT_BINARY_DIR}/llmrt-plugin.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
