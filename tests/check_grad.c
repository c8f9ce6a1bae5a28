/* check_grad.c -- tests of the grad area. */
#include "tests.h"

Suite *suite_grad(void)
{
    return suite_create("grad");
}
