/* check_tensor.c -- tests of the tensor area. */
#include "tests.h"

Suite *suite_tensor(void)
{
    return suite_create("tensor");
}
