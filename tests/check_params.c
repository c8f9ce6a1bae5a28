/* check_params.c -- tests of the params area. */
#include "tests.h"

Suite *suite_params(void)
{
    return suite_create("params");
}
