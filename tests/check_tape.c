/* check_tape.c -- tests of the tape area. */
#include "tests.h"

Suite *suite_tape(void)
{
    return suite_create("tape");
}
