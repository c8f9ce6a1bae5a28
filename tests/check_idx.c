/* check_idx.c -- tests of the idx area. */
#include "tests.h"

Suite *suite_idx(void)
{
    return suite_create("idx");
}
