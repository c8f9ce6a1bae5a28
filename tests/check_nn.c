/* check_nn.c -- tests of the nn area. */
#include "tests.h"

Suite *suite_nn(void)
{
    return suite_create("nn");
}
