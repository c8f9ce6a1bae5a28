/*
 * tapegrad.h -- the umbrella header: tensors and the tape, ops, the FFNN builder and trainer,
 * monitors and exporters. Link with `pkg-config --cflags --libs tapegrad`.
 */
#ifndef TAPEGRAD_H
#define TAPEGRAD_H

#include "tapegrad/core.h"
#include "tapegrad/tensor.h"
#include "tapegrad/graph.h"
#include "tapegrad/ops.h"
#include "tapegrad/export.h"
#include "tapegrad/data.h"
#include "tapegrad/params.h"
#include "tapegrad/nn.h"
#include "tapegrad/monitor.h"

#endif
