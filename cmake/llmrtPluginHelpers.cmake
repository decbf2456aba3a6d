# llmrt_add_plugin(NAME SOURCES... [OUTPUT_DIRECTORY DIR])
#
# Builds a plugin the way the host expects it: a MODULE library named NAME.so (no "lib" prefix)
# that exports only the llmrt entry symbol. Links llmrt::plugin_api (headers only).
set(_LLMRT_PLUGIN_HELPERS_DIR "${CMAKE_CURRENT_LIST_DIR}")

function(llmrt_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "OUTPUT_DIRECTORY" "SOURCES")
  set(sources ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  add_library(${name} MODULE ${sources})
  if(TARGET llmrt::plugin_api)
    target_link_libraries(${name} PRIVATE llmrt::plugin_api)
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
    # Fail at link time, not at dlopen time, when a symbol is missing; and export only the entry
    # point, even for symbols that headers such as Boost's mark visible.
    target_link_options(${name} PRIVATE "LINKER:--no-undefined"
      "LINKER:--version-script=${_LLMRT_PLUGIN_HELPERS_DIR}/llmrt_plugin.map")
    set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS
      "${_LLMRT_PLUGIN_HELPERS_DIR}/llmrt_plugin.map")
  endif()
endfunction()
