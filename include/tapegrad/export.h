/*
 * tapegrad/export.h -- exporting graphs: DOT through Graphviz's libcgraph, rendered with libgvc.
 *
 * Tensors and ops become separate DOT nodes named t<index> and op<index> (never pointers, so the
 * output is reproducible), labelled "name [shape]" and the op's name, styled by kind (params
 * blue, inputs green, consts grey, intermediates plain, the loss red), with edges in data-flow
 * direction input -> op -> output. An optional per-tensor metric (e.g. gradient norms from a
 * monitor) annotates tensor labels and fills them on a log colour scale, dark red (smallest:
 * vanishing) to green (largest), so that a picture shows where gradients die. The scale spans
 * the finite nonzero values present, and at least TG_DOT_METRIC_DECADES decades below the
 * largest; zero is dark red, Inf purple.
 * Built without Graphviz, every function returns TG_ERR_UNAVAILABLE.
 * Graphviz keeps global state, so tapegrad serialises its calls into it with a lock and keeps
 * one Graphviz context for the process; a program that also calls Graphviz directly must not
 * do so while one of these functions runs in another thread.
 */
#ifndef TAPEGRAD_EXPORT_H
#define TAPEGRAD_EXPORT_H

#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default for tg_dot_opts.max_render_nodes: dot's layout time grows faster than linearly. */
#define TG_DOT_MAX_RENDER_NODES 5000

/* Minimum span of the metric colour scale, in powers of ten. */
#define TG_DOT_METRIC_DECADES 3

/* Options; a zeroed struct (or a NULL pointer) gives the defaults. */
typedef struct tg_dot_opts {
    const char *title;            /* caption above the graph, or NULL for none */
    int left_to_right;            /* 1: flow left to right; 0: top to bottom */
    const double *tensor_metric;  /* (n_metric) by tensor->index; NaN = none; or NULL */
    int n_metric;                 /* entries in tensor_metric; later tensors have none */
    const char *metric_label;     /* shown before each value, e.g. "|grad|"; NULL: "metric" */
    int max_render_nodes;         /* tg_dot_render refuses larger graphs; 0: the default */
} tg_dot_opts;

/* The graph as DOT text in *text (NUL-terminated, *len bytes if len is non-NULL); free it with
 * tg_dot_text_free. Errors: TG_ERR_ARG, TG_ERR_NOMEM, TG_ERR_UNAVAILABLE. */
TG_API tg_status tg_dot_text(tg_graph *g, const tg_dot_opts *opts, char **text, size_t *len);
/* Frees text from tg_dot_text; NULL is fine. */
TG_API void tg_dot_text_free(char *text);
/* Writes the DOT text to path atomically (path.tmp, fsync, rename): on failure TG_ERR_IO naming
 * the path and the system error, the temp file removed and any old file at path untouched. */
TG_API tg_status tg_dot_write(tg_graph *g, const char *path, const tg_dot_opts *opts);
/* Lays the graph out with dot and renders it to path atomically as format "svg" or "png"
 * (NULL: from path's extension; others TG_ERR_ARG). TG_ERR_LIMIT above max_render_nodes,
 * TG_ERR_IO (with Graphviz's message) when layout, rendering or the write fails. */
TG_API tg_status tg_dot_render(tg_graph *g, const char *path, const char *format,
                               const tg_dot_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
