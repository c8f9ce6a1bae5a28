/*
 * tapegrad/export.h -- exporting graphs: DOT through Graphviz's libcgraph, rendered with libgvc.
 */
#ifndef TAPEGRAD_EXPORT_H
#define TAPEGRAD_EXPORT_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
