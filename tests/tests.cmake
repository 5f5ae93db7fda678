# Test registration: Check unit suites (one per module) and end-to-end tests.
# Included from the top-level CMakeLists.txt.
if(NOT CHECK_FOUND)
  message(FATAL_ERROR "Check (libcheck) not found: apt-get install check")
endif()

# nnc_check_test(NAME LIB SOURCES...): a Check suite linked against LIB.
function(nnc_check_test name lib)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${CHECK_INCLUDE_DIRS} tests)
  target_link_libraries(${name} ${lib} ${CHECK_LINK_LIBRARIES})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "CK_FORK=yes")
endfunction()

# ---- runtime suites ----
nnc_check_test(test_ops nncrt tests/test_ops.c)
nnc_check_test(test_conv nncrt tests/test_conv.c)
nnc_check_test(test_optim nncrt tests/test_optim.c)
nnc_check_test(test_rng nncrt tests/test_rng.c)
nnc_check_test(test_data nncrt tests/test_data.c)
nnc_check_test(test_metrics nncrt tests/test_metrics.c)
nnc_check_test(test_train nncrt tests/test_train.c)
nnc_check_test(test_ckpt nncrt tests/test_ckpt.c)
nnc_check_test(test_sources nncrt tests/test_sources.c)

# ---- compiler suites ----
# Check suites for the passes (each links nnccore and reads models/ through
# NNC_SOURCE_DIR), one CTest per malformed input in tests/errors/ (its first
# line says `# expect: LINE:COL: error: ...`), and a seeded mutation test
# that nnc never crashes on a damaged day5.nn.
foreach(suite test_parse test_check test_shape test_autodiff)
  nnc_check_test(${suite} nnccore tests/${suite}.c)
  target_compile_definitions(${suite} PRIVATE NNC_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
endforeach()

file(GLOB NNC_ERROR_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/errors/*.nn)
foreach(nn ${NNC_ERROR_TESTS})
  get_filename_component(name ${nn} NAME_WE)
  add_test(NAME error_${name}
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_error_test.sh ${nn} $<TARGET_FILE:nnc>)
endforeach()

add_test(NAME parser_fuzz
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_fuzz_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/models/day5.nn 300)
set_tests_properties(parser_fuzz PROPERTIES TIMEOUT 120)

# ---- end-to-end: build a .nn, check the C and the gradient, train on a subset ----
foreach(model small_mlp softmax_mlp raw_input smooth_cnn onehot_mlp binary_mlp)
  add_test(NAME e2e_${model}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_e2e.sh $<TARGET_FILE:nnc>
            ${CMAKE_CURRENT_SOURCE_DIR}/runtime $<TARGET_FILE:nncrt>
            ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/${model}.nn)
endforeach()
# each optimizer family learns (their gradients are the models' above)
foreach(model sgd_mlp rmsprop_mlp adamw_mlp)
  add_test(NAME e2e_${model}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_e2e.sh $<TARGET_FILE:nnc>
            ${CMAKE_CURRENT_SOURCE_DIR}/runtime $<TARGET_FILE:nncrt>
            ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/${model}.nn --no-gradcheck)
endforeach()
# a relu + max-pool CNN learns on a subset
add_test(NAME e2e_relu_cnn
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_e2e.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/runtime $<TARGET_FILE:nncrt>
          ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/relu_cnn.nn --no-gradcheck)
# the unfused graph must compute the same thing (the unfused losses: smoothed
# categorical, binary)
foreach(model small_mlp onehot_mlp binary_mlp)
  add_test(NAME e2e_${model}_unfused
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_e2e.sh $<TARGET_FILE:nnc>
            ${CMAKE_CURRENT_SOURCE_DIR}/runtime $<TARGET_FILE:nncrt>
            ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/${model}.nn --no-fuse)
endforeach()
# the flagship: its generated C is warning-free and its gradient is right
add_test(NAME e2e_day5_codegen
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_e2e.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/runtime $<TARGET_FILE:nncrt>
          ${CMAKE_CURRENT_SOURCE_DIR}/models/day5.nn --no-train)

# ---- Keras's parameter counts for the seeds' models ----
add_test(NAME summary_seed_models
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_summary_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/models)
add_test(NAME models_codegen_warning_free
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_models_codegen.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/runtime ${CMAKE_CURRENT_SOURCE_DIR}/models)

# ---- nnc build: a C compiler without -march=native, and --portable ----
add_test(NAME build_portable_fallback
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_portable_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/small_mlp.nn)
