/* gradcheck_cases.c -- the gradient-check table; filled in by the ops work. */
