/* check_dot.c -- tests of the dot area. */
#include "tests.h"

Suite *suite_dot(void)
{
    return suite_create("dot");
}
