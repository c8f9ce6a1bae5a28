/* tapegrad/monitor.h -- placeholder; filled in by its issue work. */
#ifndef TAPEGRAD_MONITOR_H
#define TAPEGRAD_MONITOR_H
#include "graph.h"
#endif
