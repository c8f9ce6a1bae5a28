/* tapegrad/nn.h -- placeholder; filled in by its issue work. */
#ifndef TAPEGRAD_NN_H
#define TAPEGRAD_NN_H
#include "graph.h"
#endif
