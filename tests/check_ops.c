/* check_ops.c -- tests of the ops area. */
#include "tests.h"

Suite *suite_ops(void)
{
    return suite_create("ops");
}
