/* dot.c -- DOT export; filled in by the DOT work. */
