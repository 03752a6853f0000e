# bf_embed_files(<target> <dir> <symbol>): compiles every <dir>/*.json into <target> as the table
# <symbol> (bf_embed.h), regenerated when a file changes (cmake/embed_files.cmake writes it).
function(bf_embed_files target dir symbol)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${symbol}.c)
  file(GLOB inputs CONFIGURE_DEPENDS ${dir}/*.json)
  get_filename_component(script ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_files.cmake ABSOLUTE)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DSYMBOL=${symbol} -DOUT=${out} -P ${script}
    DEPENDS ${inputs} ${script}
    COMMENT "Embedding ${dir}")
  target_sources(${target} PRIVATE ${out})
endfunction()
