/* tapegrad/params.h -- placeholder; filled in by its issue work. */
#ifndef TAPEGRAD_PARAMS_H
#define TAPEGRAD_PARAMS_H
#include "graph.h"
#endif
