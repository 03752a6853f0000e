# bf_add_stage(<binary> <core-lib> [LIBS ...]): a stage directory builds its logic (every .c but
# main.c) into <core-lib>, which unit tests link with the fake runtime (no Kafka), and main.c into
# <binary>, which links the real runtime.
function(bf_add_stage binary core)
  cmake_parse_arguments(ARG "" "" "LIBS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.c)
  list(REMOVE_ITEM sources ${CMAKE_CURRENT_SOURCE_DIR}/main.c)
  add_library(${core} STATIC ${sources})
  target_include_directories(${core} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${core} PUBLIC bfcommon ${ARG_LIBS})
  add_executable(${binary} main.c)
  target_link_libraries(${binary} PRIVATE ${core} bfruntime)
endfunction()
