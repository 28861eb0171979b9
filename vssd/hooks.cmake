# hooks.cmake: the hook runner library and its unit test.
# include()d from vssd/CMakeLists.txt; paths are relative to this file.

add_library(hvvssd_hooks STATIC ${CMAKE_CURRENT_LIST_DIR}/hooks.c)
target_include_directories(hvvssd_hooks PUBLIC ${CMAKE_CURRENT_LIST_DIR})

find_package(PkgConfig REQUIRED)
pkg_check_modules(HVVSS_HOOKS_CMOCKA REQUIRED IMPORTED_TARGET cmocka)

add_executable(test-hooks ${CMAKE_CURRENT_LIST_DIR}/test-hooks.c)
target_link_libraries(test-hooks PRIVATE hvvssd_hooks PkgConfig::HVVSS_HOOKS_CMOCKA)
add_test(NAME hooks COMMAND test-hooks)
set_tests_properties(hooks PROPERTIES LABELS unit TIMEOUT 60)
