/* check_alloc.c -- tests of the alloc area. */
#include "tests.h"

Suite *suite_alloc(void)
{
    return suite_create("alloc");
}
