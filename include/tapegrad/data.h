/* tapegrad/data.h -- placeholder; filled in by its issue work. */
#ifndef TAPEGRAD_DATA_H
#define TAPEGRAD_DATA_H
#include "graph.h"
#endif
