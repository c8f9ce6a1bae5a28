/* check_monitor.c -- tests of the monitor area. */
#include "tests.h"

Suite *suite_monitor(void)
{
    return suite_create("monitor");
}
