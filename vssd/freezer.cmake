# The freeze engine and its frozen-state records, with their tests.
# Included from vssd/CMakeLists.txt.

find_package(Threads REQUIRED)

add_library(hvvssd_freezer STATIC
            ${CMAKE_CURRENT_LIST_DIR}/freezer.c
            ${CMAKE_CURRENT_LIST_DIR}/frozen-state.c)
target_include_directories(hvvssd_freezer PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(hvvssd_freezer PUBLIC Threads::Threads)

# Unit tests: fake filesystem operations, no privileges, never a real freeze.
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
add_executable(test-freezer ${CMAKE_CURRENT_LIST_DIR}/test-freezer.c)
target_link_libraries(test-freezer PRIVATE hvvssd_freezer PkgConfig::CMOCKA)
add_test(NAME freezer COMMAND test-freezer)
set_tests_properties(freezer PROPERTIES LABELS unit TIMEOUT 120)

# Integration: real ext4/xfs/btrfs/tmpfs loop mounts the wrapper creates.
# Needs root and losetup; fails (does not skip) without them.
set(HVVSS_FREEZER_IT_DIR ${CMAKE_CURRENT_LIST_DIR}/../tests/integration/freezer)
add_executable(test-freezer-loopfs ${HVVSS_FREEZER_IT_DIR}/test-freezer-loopfs.c)
target_link_libraries(test-freezer-loopfs PRIVATE hvvssd_freezer)
add_test(NAME freezer-loopfs
         COMMAND ${HVVSS_FREEZER_IT_DIR}/run-freezer-loopfs.sh
                 $<TARGET_FILE:test-freezer-loopfs>)
set_tests_properties(freezer-loopfs PROPERTIES
                     LABELS integration
                     TIMEOUT 600
                     RESOURCE_LOCK loop-devices)
