# The kernel channel (/dev/vmbus/hv_vss), the freeze-safe log, the fake kernel
# end, and their unit tests. Included from vssd/CMakeLists.txt.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

option(HVVSS_WITH_SYSTEMD "Use libsystemd for sd_notify when it is installed" ON)

# hvvssd_log: log.c; sd_notify through libsystemd when available, no-ops otherwise.
add_library(hvvssd_log STATIC ${CMAKE_CURRENT_LIST_DIR}/log.c)
target_include_directories(hvvssd_log PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(hvvssd_log PRIVATE _GNU_SOURCE)
target_link_libraries(hvvssd_log PUBLIC Threads::Threads)
if(HVVSS_WITH_SYSTEMD)
  pkg_check_modules(SYSTEMD IMPORTED_TARGET libsystemd)
endif()
if(HVVSS_WITH_SYSTEMD AND SYSTEMD_FOUND)
  target_compile_definitions(hvvssd_log PRIVATE HAVE_SYSTEMD)
  target_link_libraries(hvvssd_log PRIVATE PkgConfig::SYSTEMD)
else()
  message(STATUS "hvvssd: building without libsystemd: sd_notify is a no-op")
endif()

# hvvssd_channel: the daemon's end of the kernel device.
add_library(hvvssd_channel STATIC ${CMAKE_CURRENT_LIST_DIR}/kernel-channel.c)
target_include_directories(hvvssd_channel PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(hvvssd_channel PRIVATE _GNU_SOURCE)

# The fake kernel end (a SOCK_SEQPACKET socket) for unit and integration tests.
add_library(hvvssd_fakekernel STATIC ${CMAKE_CURRENT_LIST_DIR}/fake-kernel.c)
target_include_directories(hvvssd_fakekernel PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(hvvssd_fakekernel PRIVATE _GNU_SOURCE)

add_executable(hvvss-fake-kernel ${CMAKE_CURRENT_LIST_DIR}/fake-kernel-main.c)
target_compile_definitions(hvvss-fake-kernel PRIVATE _GNU_SOURCE)
target_link_libraries(hvvss-fake-kernel PRIVATE hvvssd_fakekernel)

# Unit tests: no privileges, no device, nothing frozen.
if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

add_executable(test-kernel-channel ${CMAKE_CURRENT_LIST_DIR}/test-kernel-channel.c)
target_compile_definitions(test-kernel-channel PRIVATE _GNU_SOURCE)
target_link_libraries(test-kernel-channel PRIVATE hvvssd_channel hvvssd_fakekernel
                      PkgConfig::CMOCKA Threads::Threads)
# The test wraps write() to make a reply fail with EINVAL, as a late one does on the device.
target_link_options(test-kernel-channel PRIVATE -Wl,--wrap=write)
add_test(NAME kernel-channel COMMAND test-kernel-channel)
set_tests_properties(kernel-channel PROPERTIES LABELS unit TIMEOUT 30)

add_executable(test-log ${CMAKE_CURRENT_LIST_DIR}/test-log.c)
target_compile_definitions(test-log PRIVATE _GNU_SOURCE)
target_link_libraries(test-log PRIVATE hvvssd_log PkgConfig::CMOCKA)
add_test(NAME log COMMAND test-log)
set_tests_properties(log PROPERTIES LABELS unit TIMEOUT 30)
