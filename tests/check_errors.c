/* check_errors.c -- tests of the errors area. */
#include "tests.h"

Suite *suite_errors(void)
{
    return suite_create("errors");
}
