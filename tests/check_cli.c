/* check_cli.c -- tests of the tapegrad command. */
#include "tests.h"

Suite *suite_cli(void)
{
    return suite_create("cli");
}
