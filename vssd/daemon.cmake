# daemon.cmake: the hvvssd executable, its objects (operation, history,
# control, channel-driver, daemon), their unit tests and the daemon's
# integration tests. Included at the end of vssd/CMakeLists.txt.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(HVVSSD_POPT REQUIRED IMPORTED_TARGET popt)
if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

# The interface definition, built in for GetInterfaceDescription.
set(_iface_src ${CMAKE_CURRENT_LIST_DIR}/io.hypervvss.varlink)
set(_iface_c ${CMAKE_CURRENT_BINARY_DIR}/control-interface.c)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_iface_src})
file(READ ${_iface_src} _iface_hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _iface_bytes "${_iface_hex}")
file(WRITE ${_iface_c}.tmp
     "/* Generated from io.hypervvss.varlink by vssd/daemon.cmake. */\n"
     "const char control_interface_description[] = { ${_iface_bytes} 0x00 };\n")
configure_file(${_iface_c}.tmp ${_iface_c} COPYONLY)

add_library(hvvssd_daemon STATIC
            ${CMAKE_CURRENT_LIST_DIR}/channel-driver.c
            ${CMAKE_CURRENT_LIST_DIR}/history.c
            ${CMAKE_CURRENT_LIST_DIR}/operation.c
            ${CMAKE_CURRENT_LIST_DIR}/control.c
            ${CMAKE_CURRENT_LIST_DIR}/daemon.c
            ${CMAKE_CURRENT_LIST_DIR}/main-options.c
            ${_iface_c})
target_compile_definitions(hvvssd_daemon PUBLIC _GNU_SOURCE)
target_include_directories(hvvssd_daemon PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(hvvssd_daemon PUBLIC hvvssd_core hvvssd_hooks hvvssd_freezer hvvssd_channel
                      hvvssd_log hvvss_common PkgConfig::HVVSSD_POPT Threads::Threads m)
if(TARGET PkgConfig::SYSTEMD)
  target_compile_definitions(hvvssd_daemon PRIVATE HAVE_SYSTEMD)
  target_link_libraries(hvvssd_daemon PRIVATE PkgConfig::SYSTEMD)
endif()

add_executable(hvvssd ${CMAKE_CURRENT_LIST_DIR}/main.c)
target_link_libraries(hvvssd PRIVATE hvvssd_daemon)
install(TARGETS hvvssd DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(FILES ${CMAKE_CURRENT_LIST_DIR}/hvvssd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# Unit tests: no privileges, nothing frozen.
foreach(t history control channel-driver options)
  add_executable(test-${t} ${CMAKE_CURRENT_LIST_DIR}/test-${t}.c)
  target_link_libraries(test-${t} PRIVATE hvvssd_daemon PkgConfig::CMOCKA)
  target_compile_definitions(test-${t} PRIVATE
    FIXTURES="${CMAKE_CURRENT_LIST_DIR}/../tests/fixtures"
    IFACE_FILE="${_iface_src}"
    HVVSSD_MAN="${CMAKE_CURRENT_LIST_DIR}/hvvssd.8")
  add_test(NAME vssd-test-${t} COMMAND test-${t})
  set_tests_properties(vssd-test-${t} PROPERTIES LABELS unit TIMEOUT 60)
endforeach()

# Integration: real loop filesystems, the fake kernel end, as root.
set(HVVSSD_IT_DIR ${CMAKE_CURRENT_LIST_DIR}/../tests/integration/daemon)
if(EXISTS ${HVVSSD_IT_DIR}/CMakeLists.txt)
  include(${HVVSSD_IT_DIR}/CMakeLists.txt)
endif()
