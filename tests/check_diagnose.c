/* check_diagnose.c -- tests of layer monitors and the gradient diagnosis. */
#include "tests.h"

Suite *suite_diagnose(void)
{
    return suite_create("diagnose");
}
