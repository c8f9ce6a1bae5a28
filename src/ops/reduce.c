/* reduce.c -- see ops.h; filled in by the ops work. */
