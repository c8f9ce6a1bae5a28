/*
 * dot.c -- DOT export of a graph: built with Graphviz's libcgraph (so the text is always valid
 * DOT), laid out with dot and rendered to SVG/PNG by libgvc.
 *
 * DOT nodes: t<index> per tensor, op<index> per recorded node; edges in[k] -> op -> out. A tape
 * cannot hold a cycle (an op's inputs exist before the op is recorded), so none is checked for.
 * Labels are plain strings with backslashes doubled, so that Graphviz shows names as they are
 * (no \N or \l expansion); libcgraph quotes the rest, so quotes, newlines and <> cannot break
 * the DOT. Names are cut at NAME_MAX_CP code points with "...". (HTML-like labels would allow
 * fonts, but Graphviz 2.43 leaks 72 bytes per HTML text line on every layout.)
 * Metric colour: u = (log10|v| - lo) / (hi - lo), lo/hi over the finite nonzero |v| present but
 * lo <= hi - TG_DOT_METRIC_DECADES (a spread of 7x is not "vanishing"), through a five-colour
 * ramp from dark red (u = 0, also v = 0) to green (u = 1); Inf is purple.
 * Files are written as path.tmp, fsync, rename, so a failure never leaves a partial file.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "internal.h"

#ifdef HAVE_GRAPHVIZ
#include <assert.h>
#include <pthread.h>
#include <gvc.h>

#define NAME_MAX_CP 60      /* tensor and op names in labels */
#define TITLE_MAX_CP 120
#define METRIC_MAX_CP 30
#define LABEL_BYTES 2048    /* > worst case: 210 code points of 4 bytes, a shape, a number */

/* ---- writing a file atomically ----------------------------------------------------------- */
static tg_status io_fail(const char *who, const char *file, const char *what, const char *tmp,
                         int fd, int err)
{
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return tg_error_set(TG_ERR_IO, "%s: cannot write '%s' (%s '%s'): %s", who, file, what, tmp,
                        strerror(err));
}

/* data[0..n) to file via file.tmp: write, fsync, close, rename, then fsync the directory so the
 * rename itself is durable (best effort: the new file is complete whatever that returns). */
static tg_status file_write_atomic(const char *file, const void *data, size_t n, const char *who)
{
    size_t plen = strlen(file), done = 0;
    char *tmp = tgi_malloc(plen + sizeof ".tmp");
    const char *slash;
    tg_status s = TG_OK;
    int fd;

    if (!tmp)
        return tg_error_set(TG_ERR_NOMEM, "%s: out of memory for the temp name of '%s'", who,
                            file);
    memcpy(tmp, file, plen);
    memcpy(tmp + plen, ".tmp", sizeof ".tmp");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        s = tg_error_set(TG_ERR_IO, "%s: cannot write '%s' (creating '%s'): %s", who, file, tmp,
                         strerror(errno));
        goto out;
    }
    while (done < n) {
        ssize_t w = write(fd, (const char *)data + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            s = io_fail(who, file, "writing", tmp, fd, errno);
            goto out;
        }
        done += (size_t)w;
    }
    if (fsync(fd) != 0) {
        s = io_fail(who, file, "syncing", tmp, fd, errno);
        goto out;
    }
    if (close(fd) != 0) {
        s = io_fail(who, file, "closing", tmp, -1, errno);
        goto out;
    }
    if (rename(tmp, file) != 0) {
        s = io_fail(who, file, "renaming", tmp, -1, errno);
        goto out;
    }
    slash = strrchr(file, '/');
    if (slash) {
        tmp[slash == file ? 1 : slash - file] = '\0'; /* reuse tmp for the directory name */
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
out:
    tgi_free(tmp);
    return s;
}

/* ---- Graphviz's global state: one caller at a time (tgi_render_lock, shared with PLplot),
 * messages collected, not printed ------------------------------------------------------- */
static char gv_msg[512];          /* what Graphviz reported during the current call */
static agusererrf gv_prev_errf;
/* One layout context for the process, made on first use and never freed: Graphviz 2.43's
 * pango plugin caches a font name owned by the context that laid text out, so freeing a
 * context and making another gives a use-after-free in the next layout (ASan shows it). */
static GVC_t *gv_ctx;

/* Graphviz hands a message over in pieces ("Error", ": ", text); keep them in order. */
static int gv_collect(char *piece)
{
    size_t n = strlen(gv_msg);
    snprintf(gv_msg + n, sizeof gv_msg - n, "%s", piece);
    return 0;
}

static void gv_begin(void)
{
    pthread_mutex_lock(&tgi_render_lock);
    gv_msg[0] = '\0';
    gv_prev_errf = agseterrf(gv_collect);
}

static void gv_end(void)
{
    agseterrf(gv_prev_errf);
    pthread_mutex_unlock(&tgi_render_lock);
}

/* Graphviz's last message without its trailing newline, or a fallback. */
static const char *gv_message(void)
{
    size_t n = strlen(gv_msg);
    while (n && (gv_msg[n - 1] == '\n' || gv_msg[n - 1] == ' '))
        gv_msg[--n] = '\0';
    return n ? gv_msg : "no message from Graphviz";
}

/* ---- labels ------------------------------------------------------------------------------ */
typedef struct {
    char s[LABEL_BYTES];
    size_t n;
} label;

static void label_add(label *l, const char *fmt, ...) TG_PRINTF(2, 3);
static void label_add(label *l, const char *fmt, ...)
{
    va_list ap;
    int w;
    va_start(ap, fmt);
    w = vsnprintf(l->s + l->n, sizeof l->s - l->n, fmt, ap);
    va_end(ap);
    assert(w >= 0 && (size_t)w < sizeof l->s - l->n); /* LABEL_BYTES bounds every label */
    l->n += (size_t)w;
}

/* Length (1..4) of the well-formed UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
    unsigned lo = 0x80, hi = 0xBF;
    int n, i;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        lo = s[0] == 0xE0 ? 0xA0 : lo;  /* no overlong forms */
        hi = s[0] == 0xED ? 0x9F : hi;  /* no surrogates */
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        lo = s[0] == 0xF0 ? 0x90 : lo;
        hi = s[0] == 0xF4 ? 0x8F : hi;  /* <= U+10FFFF */
    } else {
        return 0;
    }
    for (i = 1; i < n; ++i, lo = 0x80, hi = 0xBF)
        if (s[i] < lo || s[i] > hi)
            return 0;  /* also stops at the terminating NUL */
    return n;
}

/* Appends s as label text: at most max_cp code points then "...", \ doubled (Graphviz would
 * expand \N, \G, \l), a newline shown as the two characters \n, other control bytes and
 * malformed UTF-8 as '?'. */
static void label_text(label *l, const char *s, int max_cp)
{
    const unsigned char *p = (const unsigned char *)s;
    int cp;
    for (cp = 0; *p; ++cp) {
        int n = utf8_len(p);
        if (cp == max_cp) {
            label_add(l, "...");
            return;
        }
        if (*p == '\\')
            label_add(l, "\\\\");
        else if (*p == '\n')
            label_add(l, "\\\\n");
        else if (!n || *p < 0x20 || *p == 0x7F)
            label_add(l, "?");
        else
            label_add(l, "%.*s", n, (const char *)p);
        p += n ? n : 1;
    }
}

/* ---- metric colours ---------------------------------------------------------------------- */
typedef struct {
    const double *v;    /* (n) by tensor index */
    int n;
    const char *label;
    double lo, hi;      /* log10 range of the finite nonzero |v| */
    int any;            /* some tensor has a value (not NaN) */
} metric;

static double metric_at(const metric *m, int i)
{
    return m->v && i < m->n ? m->v[i] : NAN;
}

static void metric_init(metric *m, const tg_graph *g, const tg_dot_opts *o)
{
    int i, nt = tg_graph_n_tensors(g), seen = 0;
    m->v = o->tensor_metric;
    m->n = o->tensor_metric ? o->n_metric : 0;
    m->label = o->metric_label ? o->metric_label : "metric";
    m->lo = m->hi = 0.0;
    m->any = 0;
    for (i = 0; i < nt; ++i) {
        double v = metric_at(m, i);
        if (isnan(v))
            continue;
        m->any = 1;
        if (isfinite(v) && v != 0.0) {
            double e = log10(fabs(v));
            m->lo = seen && m->lo < e ? m->lo : e;
            m->hi = seen && m->hi > e ? m->hi : e;
            seen = 1;
        }
    }
    if (m->hi - m->lo < TG_DOT_METRIC_DECADES)
        m->lo = m->hi - TG_DOT_METRIC_DECADES;
}

/* Colour "#rrggbb" of ramp position u in [0,1]; *dark says white text reads better on it. */
static void ramp_color(double u, char out[8], int *dark)
{
    static const unsigned char ramp[5][3] = {
        { 0xa5, 0x00, 0x26 }, { 0xf4, 0x6d, 0x43 }, { 0xfe, 0xe0, 0x8b },
        { 0xa6, 0xd9, 0x6a }, { 0x1a, 0x98, 0x50 } };
    double x = (u < 0.0 ? 0.0 : u > 1.0 ? 1.0 : u) * 4.0, f, c[3];
    int k = x >= 4.0 ? 3 : (int)x, j;
    f = x - k;
    for (j = 0; j < 3; ++j)
        c[j] = ramp[k][j] + f * (ramp[k + 1][j] - ramp[k][j]);
    snprintf(out, 8, "#%02x%02x%02x", (unsigned)lround(c[0]), (unsigned)lround(c[1]),
             (unsigned)lround(c[2]));
    *dark = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] < 150.0;
}

/* Fill colour of value v (not NaN). */
static void metric_color(const metric *m, double v, char out[8], int *dark)
{
    if (isinf(v)) {
        snprintf(out, 8, "#7b3294");
        *dark = 1;
        return;
    }
    if (v == 0.0) {
        ramp_color(0.0, out, dark);
        return;
    }
    ramp_color(m->hi > m->lo ? (log10(fabs(v)) - m->lo) / (m->hi - m->lo) : 1.0, out, dark);
}

/* ---- building the cgraph graph ----------------------------------------------------------- */
typedef struct {
    char *shape, *style, *fill, *border, *penwidth;
} look;

static const look kind_look[] = {
    [TG_INPUT] = { "box", "filled", "#d9ead3", "#38761d", "1" },
    [TG_PARAM] = { "box", "filled,rounded", "#cfe2f3", "#1c4587", "1.5" },
    [TG_CONST] = { "box", "filled,dashed", "#eeeeee", "#777777", "1" },
    [TG_INTERMEDIATE] = { "ellipse", "solid", "white", "#444444", "1" },
};
static const look loss_look = { "ellipse", "filled,bold", "#f4cccc", "#cc0000", "2" };
static const look op_look = { "box", "rounded,filled", "#fff2cc", "#bf9000", "1" };

static void set_look(void *obj, const look *k)
{
    agsafeset(obj, "shape", k->shape, "");
    agsafeset(obj, "style", k->style, "");
    agsafeset(obj, "fillcolor", k->fill, "");
    agsafeset(obj, "color", k->border, "");
    agsafeset(obj, "penwidth", k->penwidth, "");
}

/* The caption: the title and, with a metric, its colour scale. "\n" ends a centred line. */
static void graph_caption(Agraph_t *ag, const tg_dot_opts *o, const metric *m)
{
    label l = { .n = 0 };
    if (o->title) {
        label_text(&l, o->title, TITLE_MAX_CP);
        label_add(&l, m->any ? "\\n" : "");
    }
    if (m->any) {
        label_text(&l, m->label, METRIC_MAX_CP);
        label_add(&l, " on a log colour scale: %.1e dark red, %.1e yellow, %.1e green",
                  pow(10.0, m->lo), pow(10.0, (m->lo + m->hi) / 2), pow(10.0, m->hi));
    }
    if (l.n)
        agsafeset(ag, "label", l.s, "");
}

static Agnode_t *tensor_node(Agraph_t *ag, const tg_tensor *t, int is_loss, const metric *m)
{
    char id[32], shp[64], col[8];
    label l = { .n = 0 };
    const look *k = is_loss ? &loss_look
                  : (unsigned)t->kind <= TG_INTERMEDIATE ? &kind_look[t->kind]
                  : &kind_look[TG_INTERMEDIATE];
    double v = metric_at(m, t->index);
    int dark = 0;
    Agnode_t *n;

    snprintf(id, sizeof id, "t%d", t->index);
    if (!(n = agnode(ag, id, 1)))
        return NULL;
    set_look(n, k);
    if (is_loss)
        agsafeset(n, "fontname", "Helvetica-Bold", "");
    if (!isnan(v)) {
        metric_color(m, v, col, &dark);
        agsafeset(n, "fillcolor", col, "");
        if (t->kind == TG_INTERMEDIATE && !is_loss)
            agsafeset(n, "style", "filled", "");
        if (dark)
            agsafeset(n, "fontcolor", "white", "");
    }
    if (t->name[0])
        label_text(&l, t->name, NAME_MAX_CP);
    else
        label_add(&l, "t%d", t->index);
    label_add(&l, " %s", tg_shape_str(t, shp, sizeof shp));
    if (!isnan(v)) {
        label_add(&l, "\\n");
        label_text(&l, m->label, METRIC_MAX_CP);
        label_add(&l, " %.2g", v);
    }
    agsafeset(n, "label", l.s, "");
    return n;
}

static Agnode_t *op_node(Agraph_t *ag, const tg_node *nd)
{
    char id[32];
    label l = { .n = 0 };
    Agnode_t *n;
    snprintf(id, sizeof id, "op%d", nd->index);
    if (!(n = agnode(ag, id, 1)))
        return NULL;
    set_look(n, &op_look);
    agsafeset(n, "fontsize", "10", "");
    agsafeset(n, "height", "0.3", "");
    label_text(&l, nd->op->name ? nd->op->name : "?", NAME_MAX_CP);
    agsafeset(n, "label", l.s, "");
    return n;
}

static void graph_defaults(Agraph_t *ag, const tg_dot_opts *o)
{
    agattr(ag, AGRAPH, "rankdir", o->left_to_right ? "LR" : "TB");
    agattr(ag, AGRAPH, "labelloc", "t");
    agattr(ag, AGRAPH, "fontname", "Helvetica");
    agattr(ag, AGRAPH, "fontsize", "12");
    agattr(ag, AGRAPH, "nodesep", "0.3");
    agattr(ag, AGRAPH, "ranksep", "0.35");
    agattr(ag, AGRAPH, "bgcolor", "white");
    agattr(ag, AGRAPH, "pad", "0.2");
    /* stated, not inherited: Graphviz's first gvContext() makes "\N" the process-wide default
     * label, so without this the text would change once something was rendered */
    agattr(ag, AGNODE, "label", "\\N");
    agattr(ag, AGNODE, "fontname", "Helvetica");
    agattr(ag, AGNODE, "fontsize", "11");
    agattr(ag, AGNODE, "fontcolor", "black");
    agattr(ag, AGNODE, "height", "0.4");
    agattr(ag, AGEDGE, "color", "#666666");
    agattr(ag, AGEDGE, "arrowsize", "0.7");
}

/* The cgraph version of g (disc NULL: Graphviz's defaults), or NULL with the error set.
 * Nodes are created in tensor order with each producer just before its output, which gives
 * dot a natural initial ordering. */
static Agraph_t *graph_build(tg_graph *g, const tg_dot_opts *o, Agdisc_t *disc, const char *who)
{
    int nt = tg_graph_n_tensors(g), nn = tg_graph_n_nodes(g), i, k;
    int *uses = tgi_calloc((size_t)(nt ? nt : 1), sizeof *uses);  /* (nt) consumer counts */
    Agnode_t **tn = tgi_calloc((size_t)(nt ? nt : 1), sizeof *tn); /* (nt) DOT tensor nodes */
    Agraph_t *ag = NULL;
    metric m;

    if (!uses || !tn) {
        tg_error_set(TG_ERR_NOMEM, "%s: out of memory for %d tensors", who, nt);
        goto out;
    }
    for (i = 0; i < nn; ++i) {
        const tg_node *nd = tg_graph_node(g, i);
        for (k = 0; k < nd->n_in; ++k)
            uses[nd->in[k]->index]++;
    }
    if (!(ag = agopen("tapegrad", Agdirected, disc)))
        goto nomem;
    metric_init(&m, g, o);
    graph_defaults(ag, o);
    graph_caption(ag, o, &m);
    for (i = 0; i < nt; ++i) {
        const tg_tensor *t = tg_graph_tensor(g, i);
        const tg_node *nd = t->producer;
        Agnode_t *opn = NULL;
        int is_loss = nd && t->size == 1 && t->requires_grad && !uses[i];
        if (nd) {
            if (!(opn = op_node(ag, nd)))
                goto nomem;
            for (k = 0; k < nd->n_in; ++k) {
                assert(tn[nd->in[k]->index]); /* inputs precede the ops that use them */
                if (!agedge(ag, tn[nd->in[k]->index], opn, NULL, 1))
                    goto nomem;
            }
        }
        if (!(tn[i] = tensor_node(ag, t, is_loss, &m)))
            goto nomem;
        if (opn && !agedge(ag, opn, tn[i], NULL, 1))
            goto nomem;
    }
    goto out;
nomem:
    tg_error_set(TG_ERR_NOMEM, "%s: Graphviz ran out of memory building the graph", who);
    if (ag)
        agclose(ag);
    ag = NULL;
out:
    tgi_free(uses);
    tgi_free(tn);
    return ag;
}

static tg_status check_args(tg_graph *g, const tg_dot_opts *o, const char *who)
{
    if (!tgi_graph_ok(g, who))
        return tg_last_status();
    if (o->tensor_metric && o->n_metric < 0)
        return tg_error_set(TG_ERR_ARG, "%s: n_metric is %d", who, o->n_metric);
    if (o->max_render_nodes < 0)
        return tg_error_set(TG_ERR_ARG, "%s: max_render_nodes is %d", who, o->max_render_nodes);
    return TG_OK;
}

/* ---- DOT text ---------------------------------------------------------------------------- */
typedef struct {
    char *s;        /* (cap) NUL-terminated */
    size_t len, cap;
} text_buf;

static int text_put(void *chan, const char *str)
{
    text_buf *b = chan;
    size_t n = strlen(str);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = tgi_realloc(b->s, cap)))
            return EOF;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, str, n + 1);
    b->len += n;
    return 0;
}

static int text_flush(void *chan)
{
    return 0;
}

static Agiodisc_t text_io = { NULL, text_put, text_flush };

/* DOT text of g into b, for tg_dot_text and tg_dot_write (who names the caller). */
static tg_status dot_text(tg_graph *g, const tg_dot_opts *opts, text_buf *b, const char *who)
{
    static const tg_dot_opts defaults;
    const tg_dot_opts *o = opts ? opts : &defaults;
    Agdisc_t disc = { &AgMemDisc, &AgIdDisc, &text_io };
    Agraph_t *ag;
    tg_status s;
    int rc;
    if ((s = check_args(g, o, who)) != TG_OK)
        return s;
    gv_begin();
    if (!(ag = graph_build(g, o, &disc, who))) {
        gv_end();
        return tg_last_status();
    }
    rc = agwrite(ag, b);
    agclose(ag);
    gv_end();
    if (rc != 0 || !b->s) {
        tgi_free(b->s);
        b->s = NULL;
        return tg_error_set(TG_ERR_NOMEM, "%s: out of memory for the DOT text (%zu bytes so far)",
                            who, b->len);
    }
    return TG_OK;
}

tg_status tg_dot_text(tg_graph *g, const tg_dot_opts *opts, char **text, size_t *len)
{
    text_buf b = { NULL, 0, 0 };
    tg_status s;
    if (!text)
        return tg_error_set(TG_ERR_ARG, "dot_text: text is NULL");
    *text = NULL;
    if ((s = dot_text(g, opts, &b, "dot_text")) != TG_OK)
        return s;
    *text = b.s;
    if (len)
        *len = b.len;
    return TG_OK;
}

void tg_dot_text_free(char *text)
{
    tgi_free(text);
}

tg_status tg_dot_write(tg_graph *g, const char *file, const tg_dot_opts *opts)
{
    text_buf b = { NULL, 0, 0 };
    tg_status s;
    if (!file)
        return tg_error_set(TG_ERR_ARG, "dot_write: file is NULL");
    if ((s = dot_text(g, opts, &b, "dot_write")) != TG_OK)
        return s;
    s = file_write_atomic(file, b.s, b.len, "dot_write");
    tgi_free(b.s);
    return s;
}

/* ---- rendering --------------------------------------------------------------------------- */
/* "svg" or "png" from format, or from file's extension when format is NULL; NULL if neither.
 * *asked is the format looked at. */
static const char *render_format(const char *file, const char *format, const char **asked)
{
    const char *slash = strrchr(file, '/'), *dot = strrchr(file, '.');
    *asked = format ? format : dot && (!slash || dot > slash) ? dot + 1 : "";
    if (!strcasecmp(*asked, "svg"))
        return "svg";
    if (!strcasecmp(*asked, "png"))
        return "png";
    return NULL;
}

tg_status tg_dot_render(tg_graph *g, const char *file, const char *format,
                        const tg_dot_opts *opts)
{
    static const tg_dot_opts defaults;
    const tg_dot_opts *o = opts ? opts : &defaults;
    const char *who = "dot_render", *fmt, *asked;
    char *data = NULL;
    unsigned int len = 0;
    int n_dot, max;
    Agraph_t *ag;
    GVC_t *gvc;
    tg_status s;

    if (!file)
        return tg_error_set(TG_ERR_ARG, "%s: file is NULL", who);
    if ((s = check_args(g, o, who)) != TG_OK)
        return s;
    if (!(fmt = render_format(file, format, &asked)))
        return tg_error_set(TG_ERR_ARG, "%s: format '%s' for '%s' is not svg or png", who,
                            asked, file);
    n_dot = tg_graph_n_tensors(g) + tg_graph_n_nodes(g);
    max = o->max_render_nodes ? o->max_render_nodes : TG_DOT_MAX_RENDER_NODES;
    if (n_dot > max)
        return tg_error_set(TG_ERR_LIMIT, "%s: '%s': %d DOT nodes is above the layout limit "
                            "%d (write DOT text instead, or raise max_render_nodes)", who, file,
                            n_dot, max);
    gv_begin();
    if (!(ag = graph_build(g, o, NULL, who))) {
        s = tg_last_status();
        goto unlock;
    }
    if (!strcmp(fmt, "png"))
        agsafeset(ag, "dpi", "120", ""); /* 96 makes 11pt labels hard to read */
    if (!gv_ctx && !(gv_ctx = gvContext())) {
        s = tg_error_set(TG_ERR_NOMEM, "%s: Graphviz could not create a context", who);
        agclose(ag);
        goto unlock;
    }
    gvc = gv_ctx;
    if (gvLayout(gvc, ag, "dot") != 0) {
        s = tg_error_set(TG_ERR_IO, "%s: '%s': dot layout failed: %s", who, file, gv_message());
    } else {
        if (gvRenderData(gvc, ag, fmt, &data, &len) != 0)
            s = tg_error_set(TG_ERR_IO, "%s: '%s': rendering %s failed: %s", who, file, fmt,
                             gv_message());
        else
            s = file_write_atomic(file, data, len, who);
        if (data)
            gvFreeRenderData(data);
        gvFreeLayout(gvc, ag);
    }
    agclose(ag);
unlock:
    gv_end();
    return s;
}

#else /* !HAVE_GRAPHVIZ */

static tg_status unavailable(const char *who)
{
    return tg_error_set(TG_ERR_UNAVAILABLE, "%s: DOT export is not available in this build "
                        "(configure found no Graphviz)", who);
}

tg_status tg_dot_text(tg_graph *g, const tg_dot_opts *opts, char **text, size_t *len)
{
    if (text)
        *text = NULL;
    return unavailable("dot_text");
}

void tg_dot_text_free(char *text)
{
    tgi_free(text);
}

tg_status tg_dot_write(tg_graph *g, const char *file, const tg_dot_opts *opts)
{
    return unavailable("dot_write");
}

tg_status tg_dot_render(tg_graph *g, const char *file, const char *format,
                        const tg_dot_opts *opts)
{
    return unavailable("dot_render");
}

#endif /* HAVE_GRAPHVIZ */
