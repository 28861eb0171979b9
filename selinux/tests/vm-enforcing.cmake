# The enforcing VM test (vm-enforcing.sh): a Debian 12 root with
# selinux-policy-default and our module boots under QEMU TCG with SELinux
# enforcing, runs a simulated host backup through hvvssd and counts AVC
# denials. About 2 minutes with the root cached (the first mkroot.sh takes
# about 5 more). Needs root, debootstrap and qemu-system-x86.
add_test(NAME selinux-vm-enforcing
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/tests/vm-enforcing.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/vm-enforcing)
set_tests_properties(selinux-vm-enforcing PROPERTIES
                     LABELS "vm;selinux" SKIP_RETURN_CODE 77 TIMEOUT 1200
                     ENVIRONMENT "HVVSS_KERNEL_ABI=${HVVSS_KERNEL_ABI}")
