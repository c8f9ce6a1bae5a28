/* monitor.c -- placeholder; filled in by its issue work. */
typedef int tg_placeholder_monitor;
