# Test registration: Check unit suites (one per module) and end-to-end tests.
# Included from the top-level CMakeLists.txt.
if(NOT CHECK_FOUND)
  message(FATAL_ERROR "Check (libcheck) not found: apt-get install check")
endif()

# nnc_check_test(NAME LIB SOURCES...): a Check suite linked against LIB.
# Every test case gets 120 s instead of Check's default 4 s: unit tests must
# not depend on the machine's speed (a loaded CI machine or a sanitizer build
# is many times slower); a test that hangs still fails, and CTest's own
# timeout stays above the sum.
function(nnc_check_test name lib)
  add_executable(${name} ${ARGN})
  target_include_directories(${name} PRIVATE ${CHECK_INCLUDE_DIRS} tests)
  target_link_libraries(${name} ${lib} ${CHECK_LINK_LIBRARIES})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "CK_FORK=yes;CK_DEFAULT_TIMEOUT=120")
endfunction()

# ---- runtime suites ----
nnc_check_test(test_ops nncrt tests/test_ops.c)
nnc_check_test(test_conv nncrt tests/test_conv.c)
target_compile_definitions(test_conv PRIVATE NNC_WITH_ONEDNN=${NNC_WITH_ONEDNN})
nnc_check_test(test_spatial nncrt tests/test_spatial.c)
nnc_check_test(test_optim nncrt tests/test_optim.c)
nnc_check_test(test_rng nncrt tests/test_rng.c)
nnc_check_test(test_data nncrt tests/test_data.c)
nnc_check_test(test_metrics nncrt tests/test_metrics.c)
nnc_check_test(test_train nncrt tests/test_train.c)
nnc_check_test(test_ckpt nncrt tests/test_ckpt.c)
nnc_check_test(test_fit nncrt tests/test_fit.c)
nnc_check_test(test_infer nncrt tests/test_infer.c)
nnc_check_test(test_augment nncrt tests/test_augment.c)
# the plots and report.html; libpng decodes the PNGs to check they are not blank
pkg_check_modules(LIBPNG REQUIRED libpng)
nnc_check_test(test_plot nncrt tests/test_plot.c)
target_include_directories(test_plot PRIVATE ${LIBPNG_INCLUDE_DIRS})
target_link_libraries(test_plot ${LIBPNG_LINK_LIBRARIES})
# report.html in headless Chromium (skipped, exit 77, without chromium); the
# screenshot stays in build/report_browser/report_screenshot.png
add_test(NAME report_browser
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_report_browser.sh $<TARGET_FILE:test_plot>
          ${CMAKE_CURRENT_BINARY_DIR}/report_browser)
set_tests_properties(report_browser PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77)
# nnc-report redraws a run directory's plots from history.csv and metrics.json
add_test(NAME nnc_report_cli
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_report_cli.sh $<TARGET_FILE:nnc-report>
          $<TARGET_FILE:test_plot> ${CMAKE_CURRENT_BINARY_DIR}/report_cli)
set_tests_properties(nnc_report_cli PROPERTIES TIMEOUT 120)
nnc_check_test(test_sources nncrt tests/test_sources.c)

# ---- compiler suites ----
# Check suites for the passes (each links nnccore and reads models/ through
# NNC_SOURCE_DIR), one CTest per malformed input in tests/errors/ (its first
# line says `# expect: LINE:COL: error: ...`), and a seeded mutation test
# that nnc never crashes on a damaged day5.nn.
foreach(suite test_parse test_check test_shape test_autodiff test_scale test_compare)
  nnc_check_test(${suite} nnccore tests/${suite}.c)
  target_compile_definitions(${suite} PRIVATE NNC_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
endforeach()
# the model's identity (identity.c) and nnc export's check of it
nnc_check_test(test_identity nnccore tests/test_identity.c)
target_compile_definitions(test_identity PRIVATE NNC_SOURCE_DIR="${CMAKE_CURRENT_SOURCE_DIR}")

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

# ---- fuzzing: libFuzzer on the whole compiler, a minute per run ----
# clang builds its own instrumented copy of nnccore's sources (the project's
# compiler may be gcc); scripts/install-deps.sh installs clang and libFuzzer.
find_program(NNC_CLANG NAMES clang clang-14)
get_target_property(nnc_core_sources nnccore SOURCES)
set(nnc_fuzz_sources ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/fuzz_front.c)
list(FILTER nnc_core_sources INCLUDE REGEX "\\.c$") # not the generated parser.h, lexer.h
# nor nnc export (checkpoints, protobuf-c): it reads no .nn text of its own
# nor nnc compare (run directories: the runtime's readers and plots)
list(FILTER nnc_core_sources EXCLUDE REGEX "(export|export_c|export_onnx|onnx_write|nnc_infer_text|compare)\\.c$")
foreach(src ${nnc_core_sources})
  get_filename_component(src ${src} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  list(APPEND nnc_fuzz_sources ${src})
endforeach()
if(NNC_CLANG)
  add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/fuzz_front
    COMMAND ${NNC_CLANG} -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
            -w -std=c11 -D_GNU_SOURCE -I${CMAKE_CURRENT_SOURCE_DIR}/compiler
            -I${CMAKE_CURRENT_SOURCE_DIR}/runtime
            -I${CMAKE_CURRENT_BINARY_DIR} -DNNC_RUNTIME_INCLUDE=\"\" -DNNC_RUNTIME_LIB=\"\"
            -DNNC_BLAS_LIBS=\"\" -DNNC_PROGRAM_FLAGS=\"\" -DNNC_WITH_ONEDNN=${NNC_WITH_ONEDNN}
            ${nnc_fuzz_sources}
            -o ${CMAKE_CURRENT_BINARY_DIR}/fuzz_front
    DEPENDS ${nnc_fuzz_sources} ${CMAKE_CURRENT_SOURCE_DIR}/compiler/nnc.h
            ${CMAKE_CURRENT_SOURCE_DIR}/compiler/emit.h
    COMMENT "Building the libFuzzer target fuzz_front with clang" VERBATIM)
  add_custom_target(fuzz_front_target ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/fuzz_front)
  add_test(NAME fuzz_front
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/fuzz/run_fuzz.sh
            ${CMAKE_CURRENT_BINARY_DIR}/fuzz_front 60 ${CMAKE_CURRENT_BINARY_DIR}/fuzz-artifacts
            ${CMAKE_CURRENT_SOURCE_DIR}/models ${CMAKE_CURRENT_SOURCE_DIR}/tests)
else()
  message(WARNING "clang not found: the fuzz_front test fails until scripts/install-deps.sh "
          "installs clang and libclang-rt-14-dev")
  add_test(NAME fuzz_front COMMAND sh -c "echo 'fuzz_front: clang with libFuzzer is not installed (scripts/install-deps.sh)' >&2; exit 1")
endif()
set_tests_properties(fuzz_front PROPERTIES LABELS fuzz TIMEOUT 300)

# ---- end-to-end: build a .nn, check the C and the gradient, train on a subset ----
foreach(model small_mlp softmax_mlp raw_input smooth_cnn spatial_cnn onehot_mlp binary_mlp augment_cnn
              chunked_cnn pooled_cnn)
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

add_test(NAME e2e_keras_callbacks
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_keras_callbacks_test.sh $<TARGET_FILE:nnc>)

# nnc compare: two small models, short runs, the table, the diff, compare.html
add_test(NAME e2e_compare
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_compare_test.sh $<TARGET_FILE:nnc>)
set_tests_properties(e2e_compare PROPERTIES TIMEOUT 300)

# Keras's progress bar on a pty, --verbose, the run directory's plots and report.html
add_test(NAME e2e_progress_report
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_progress_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/small_mlp.nn)
set_tests_properties(e2e_progress_report PROPERTIES TIMEOUT 300)

add_test(NAME build_outputs
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_outputs_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/small_mlp.nn)

# ---- nnc export: the C library and ONNX (checked by ONNX Runtime) agree ----
foreach(model day5 cnn_fashion cnn_bn_gap)
  add_test(NAME export_${model}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/export/run_export_test.sh $<TARGET_FILE:nnc>
            ${CMAKE_CURRENT_SOURCE_DIR}/models/${model}.nn --epochs 1 --limit-train 5600)
  set_tests_properties(export_${model} PROPERTIES TIMEOUT 600)
endforeach()
# the spatial layers (depthwise, separable, zero padding, upsampling, reshape -1)
add_test(NAME export_spatial_cnn
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/export/run_export_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/spatial_cnn.nn --epochs 1)
set_tests_properties(export_spatial_cnn PROPERTIES TIMEOUT 600)
# augmentation layers (the identity at inference) with their options: the
# exported model gives the training program's predictions
add_test(NAME export_augment
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/export/run_augment_export_test.sh
          $<TARGET_FILE:nnc> ${CMAKE_CURRENT_SOURCE_DIR})
set_tests_properties(export_augment PROPERTIES TIMEOUT 600)
# the generated program's run-time guards: terminate_on_nan, empty validation
add_test(NAME e2e_runtime_guards
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_guard_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e)

# kill -9 at a random moment, --resume: bit-identical to an uninterrupted run
add_test(NAME e2e_resume
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_resume_test.sh $<TARGET_FILE:nnc>)
set_tests_properties(e2e_resume PROPERTIES TIMEOUT 900)
# ---- examples/: built and run as examples/README.md says ----
pkg_check_modules(LIBPNG_EX REQUIRED libpng)
add_executable(idx_to_png tests/export/idx_to_png.c)
target_include_directories(idx_to_png PRIVATE ${LIBPNG_EX_INCLUDE_DIRS})
target_link_libraries(idx_to_png nncrt ${LIBPNG_EX_LINK_LIBRARIES})
# tools/idx_to_folder: an IDX set as an image folder (scripts/make-fashion-folders.sh, tests)
add_executable(idx_to_folder tools/idx_to_folder.c)
target_include_directories(idx_to_folder PRIVATE ${LIBPNG_EX_INCLUDE_DIRS})
target_link_libraries(idx_to_folder nncrt ${LIBPNG_EX_LINK_LIBRARIES})
add_test(NAME e2e_sources
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_sources_test.sh $<TARGET_FILE:nnc>
          $<TARGET_FILE:idx_to_folder>)
set_tests_properties(e2e_sources PROPERTIES TIMEOUT 600)
# f32[...] inputs: CSV and float32 .npy features train, mismatches die naming
# the file, predict and export (C library, ONNX Runtime) agree
add_test(NAME e2e_float_input
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_float_input_test.sh $<TARGET_FILE:nnc>)
set_tests_properties(e2e_float_input PROPERTIES TIMEOUT 600)
add_test(NAME e2e_stream
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_stream_test.sh $<TARGET_FILE:nnc>
          $<TARGET_FILE:idx_to_folder>)
set_tests_properties(e2e_stream PROPERTIES TIMEOUT 900)
add_test(NAME examples
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/examples/run_examples_test.sh $<TARGET_FILE:nnc>
          $<TARGET_FILE:idx_to_png>)
set_tests_properties(examples PROPERTIES TIMEOUT 600)
# ---- using a trained model: predict, --evaluate, trainable=false, initialize from ----
add_test(NAME e2e_use_model
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_use_test.sh $<TARGET_FILE:nnc>
          $<TARGET_FILE:idx_to_png>)
set_tests_properties(e2e_use_model PROPERTIES TIMEOUT 600)

# ---- sanitizers: every test above, under -DNNC_SANITIZE=ON ----
# Leak detection on, nothing suppressed (libgomp's and OpenBLAS's thread
# pools leave no leak reports, so no suppression file is needed).
if(NNC_SANITIZE)
  get_property(nnc_tests DIRECTORY PROPERTY TESTS)
  set_property(TEST ${nnc_tests} APPEND PROPERTY ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1" "UBSAN_OPTIONS=print_stacktrace=1")
endif()
# ---- oneDNN convolutions against im2col + OpenBLAS (only when built with oneDNN) ----
if(NNC_WITH_ONEDNN)
  add_test(NAME e2e_onednn
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_onednn_test.sh $<TARGET_FILE:nnc>
            ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/pooled_cnn.nn)
  set_tests_properties(e2e_onednn PROPERTIES TIMEOUT 600)
endif()
# ---- golden files: the generated C of an MLP and a CNN (scripts/refresh-golden.sh) ----
add_test(NAME golden_generated_c
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_golden_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR})
add_test(NAME contract_kernel_calls
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_contract_test.sh ${CMAKE_CURRENT_SOURCE_DIR}
          ${CMAKE_CURRENT_BINARY_DIR})
# ---- the memory plan: summary rows, limits, heap blocks, literals; VGG16 ----
add_executable(make_idx tests/memory/make_idx.c)
add_test(NAME memory_plan
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_memory_test.sh $<TARGET_FILE:nnc>
          ${CMAKE_CURRENT_SOURCE_DIR}/models ${CMAKE_CURRENT_SOURCE_DIR}/tests)
set_tests_properties(memory_plan PROPERTIES TIMEOUT 300)
# one training step of VGG16 at batch 32: ~5 GB and minutes of both cores
add_test(NAME e2e_vgg16_batch32
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/run_vgg16_test.sh $<TARGET_FILE:nnc>
          $<TARGET_FILE:make_idx> ${CMAKE_CURRENT_SOURCE_DIR}/models)
set_tests_properties(e2e_vgg16_batch32 PROPERTIES RUN_SERIAL TRUE TIMEOUT 1500)
# ---- nnc build --mpi: two ranks on this machine (only where Open MPI is installed) ----
find_program(MPIRUN mpirun)
if(MPI_C_FOUND AND MPIRUN)
  add_test(NAME e2e_mpi
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_mpi_test.sh $<TARGET_FILE:nnc>
            ${CMAKE_CURRENT_SOURCE_DIR}/runtime ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e)
  set_tests_properties(e2e_mpi PROPERTIES TIMEOUT 1200)
  foreach(what resume metrics sync_bn)
    add_test(NAME e2e_mpi_${what}
      COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e/run_mpi_${what}_test.sh $<TARGET_FILE:nnc>
              ${CMAKE_CURRENT_SOURCE_DIR}/tests/e2e)
    set_tests_properties(e2e_mpi_${what} PROPERTIES TIMEOUT 900)
  endforeach()
else()
  message(STATUS "mpirun or Open MPI not found: the e2e_mpi test is off (install openmpi-bin)")
endif()
