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
nnc_check_test(test_optim nncrt tests/test_optim.c)
nnc_check_test(test_rng nncrt tests/test_rng.c)
nnc_check_test(test_data nncrt tests/test_data.c)
nnc_check_test(test_metrics nncrt tests/test_metrics.c)
nnc_check_test(test_train nncrt tests/test_train.c)
nnc_check_test(test_ckpt nncrt tests/test_ckpt.c)
