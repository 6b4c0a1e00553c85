# qcc_add_model(<target> MODEL <model.onnx> [NAME <c_prefix>] [TARGET <x86_64|arm64>]
#               [CPU <cpu>] [ARGS <extra qcc arguments>...])
#
# Compiles an ONNX model with qcc at build time and defines <target>, a static
# library with the model's code whose include directory holds <name>.h. Link
# it into an application like any library:
#
#   find_package(qcc REQUIRED)
#   qcc_add_model(encoder MODEL ${CMAKE_SOURCE_DIR}/minilm.onnx NAME minilm)
#   target_link_libraries(app PRIVATE encoder)
function(qcc_add_model target)
  cmake_parse_arguments(QAM "" "MODEL;NAME;TARGET;CPU" "ARGS" ${ARGN})
  if(NOT QAM_MODEL)
    message(FATAL_ERROR "qcc_add_model(${target}): MODEL is required")
  endif()
  if(NOT QAM_NAME)
    set(QAM_NAME ${target})
  endif()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/qcc/${target})
  set(lib ${out_dir}/lib${QAM_NAME}.a)
  set(args ${QAM_MODEL} -o ${out_dir}/${QAM_NAME} --name=${QAM_NAME})
  if(QAM_TARGET)
    list(APPEND args --target=${QAM_TARGET})
  endif()
  if(QAM_CPU)
    list(APPEND args --cpu=${QAM_CPU})
  endif()
  add_custom_command(
    OUTPUT ${lib} ${out_dir}/${QAM_NAME}.h
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${QCC_EXECUTABLE} ${args} ${QAM_ARGS}
    DEPENDS ${QAM_MODEL} ${QCC_EXECUTABLE}
    COMMENT "Compiling ${QAM_MODEL} with qcc"
    VERBATIM)
  add_custom_target(${target}_qcc DEPENDS ${lib})
  add_library(${target} STATIC IMPORTED GLOBAL)
  file(MAKE_DIRECTORY ${out_dir})
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION ${lib}
    INTERFACE_INCLUDE_DIRECTORIES ${out_dir}
    INTERFACE_LINK_LIBRARIES m)
  add_dependencies(${target} ${target}_qcc)
endfunction()
