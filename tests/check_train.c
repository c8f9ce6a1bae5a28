/* check_train.c -- tests of the train area. */
#include "tests.h"

Suite *suite_train(void)
{
    return suite_create("train");
}
