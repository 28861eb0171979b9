/* Unit tests of channel-driver on fake sysfs trees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "channel-driver.h"

static char root[64];

static void put(const char *rel, const char *content)
{
        char path[512], cmd[600];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", root, rel);
        snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
        assert_int_equal(system(cmd), 0);
        if (!content) {
                assert_int_equal(mkdir(path, 0755), 0);
                return;
        }
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static int setup(void **state)
{
        (void)state;
        snprintf(root, sizeof(root), "/tmp/test-channel-driver.XXXXXX");
        return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
        char cmd[128];

        (void)state;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        return system(cmd);
}

static void test_none(void **state)
{
        ChannelDriverInfo i;

        (void)state;
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_NONE);
        assert_string_equal(channel_driver_to_string(i.driver), "none");
        assert_null(i.framework_version);
        /* hv_utils bound to another device (e.g. heartbeat) is not the VSS channel */
        put("bus/vmbus/drivers/hv_utils/dev-hb/class_id", "{57164f39-9115-4e78-ab55-382f3bd5422d}\n");
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_NONE);
        channel_driver_info_clear(&i);
}

static void test_inbox(void **state)
{
        ChannelDriverInfo i;

        (void)state;
        put("bus/vmbus/drivers/hv_utils/vmbus-vss/class_id", "{35FA2E29-EA23-4236-96AE-3A6EBACBA440}\n");
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_HV_UTILS);
        assert_true(i.inbox_has_channel);
        assert_false(i.ours_loaded);
        channel_driver_info_clear(&i);
        /* ours loaded but without its device: hv_utils still owns the channel */
        put("module/hv_vss", NULL);
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_HV_UTILS);
        assert_true(i.ours_loaded);
        channel_driver_info_clear(&i);
}

static void test_ours(void **state)
{
        ChannelDriverInfo i;

        (void)state;
        put("class/misc/vmbus!hv_vss/state", "ready\n");
        put("class/misc/vmbus!hv_vss/framework_version", "none\n");
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_HV_VSS);
        assert_string_equal(channel_driver_to_string(i.driver), "hv_vss");
        assert_null(i.framework_version);       /* not negotiated yet */
        assert_null(i.message_version);
        channel_driver_info_clear(&i);
        put("class/misc/vmbus!hv_vss/framework_version", "3.0\n");
        put("class/misc/vmbus!hv_vss/message_version", "5.0\n");
        put("bus/vmbus/drivers/hv_utils/x/class_id", "{35fa2e29-ea23-4236-96ae-3a6ebacba440}");
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_HV_VSS);
        assert_string_equal(i.framework_version, "3.0");
        assert_string_equal(i.message_version, "5.0");
        channel_driver_info_clear(&i);
        /* module loaded, device present: ours */
        put("module/hv_vss", NULL);
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_HV_VSS);
        channel_driver_info_clear(&i);
}

static void test_module_only(void **state)
{
        ChannelDriverInfo i;

        (void)state;
        put("module/hv_vss", NULL);
        assert_int_equal(channel_driver_detect(root, &i), 0);
        assert_int_equal(i.driver, CHANNEL_DRIVER_HV_VSS);
        assert_null(i.framework_version);
        channel_driver_info_clear(&i);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_none, setup, teardown),
                cmocka_unit_test_setup_teardown(test_inbox, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ours, setup, teardown),
                cmocka_unit_test_setup_teardown(test_module_only, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
