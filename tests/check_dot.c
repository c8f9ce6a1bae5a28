/*
 * check_dot.c -- DOT export: the text is parsed back with libcgraph and checked node by node
 * (names t<i>/op<i>, edges in data-flow order, labels "name [shape]", styles by kind, metric
 * colours on the log scale), hostile names parse back without a libcgraph complaint and render
 * exactly as written, SVG/PNG renders carry their signatures, Graphviz failures and limits are
 * reported, and failed writes leave no temp file and no change to an existing file. Without
 * Graphviz every call must say it is unavailable.
 *
 * The small net: x [4,3] input, w_hidden [2,3] param, b [2] param, c [4,2] const;
 * h = linear(x, w_hidden, b) [4,2]; a = tanh(h); loss = wsum(a, c) = sum(a * c) [].
 * Tensors t0..t6 = x, w_hidden, b, c, h, a, loss; ops op0..op2 = linear, tanh, wsum.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config.h"
#include "tests.h"

/* ---- a test op: y = sum(a * c) over all elements (no backward: export never runs one) ---- */
static tg_status wsum_shape(tg_node *n)
{
    if (n->in[0]->size != n->in[1]->size)
        return tg_error_set(TG_ERR_SHAPE, "wsum: sizes %zu and %zu differ", n->in[0]->size,
                            n->in[1]->size);
    return tg_node_set_shape(n, 0, NULL);
}

static tg_status wsum_forward(tg_node *n)
{
    double s = 0.0;
    size_t i;
    for (i = 0; i < n->in[0]->size; ++i)
        s += (double)n->in[0]->data[i] * n->in[1]->data[i];
    n->out->data[0] = (float)s;
    return TG_OK;
}

static const tg_op_def wsum_op = { .name = "wsum", .n_in = 2, .shape = wsum_shape,
                                   .forward = wsum_forward };

static tg_tensor *wsum(tg_graph *g, tg_tensor *a, tg_tensor *c)
{
    tg_tensor *in[2] = { a, c };
    return tg_apply(g, &wsum_op, in, 2, NULL, 0, NULL);
}

typedef struct {
    tg_graph *g;
    tg_tensor *x, *w, *b, *c, *h, *a, *loss;
} small_net;

static void small_build(small_net *s)
{
    s->g = tg_graph_new();
    ck_assert_ptr_nonnull(s->g);
    s->x = tg_input(s->g, "x", 2, (const int[]){ 4, 3 });
    s->w = tg_param(s->g, "w_hidden", 2, (const int[]){ 2, 3 });
    s->b = tg_param(s->g, "b", 1, (const int[]){ 2 });
    s->c = tg_const(s->g, "c", 2, (const int[]){ 4, 2 }, NULL);
    s->h = tg_linear(s->g, s->x, s->w, s->b);
    s->a = tg_tanh(s->g, s->h);
    s->loss = wsum(s->g, s->a, s->c);
    ck_assert_msg(s->loss != NULL, "%s", tg_last_error());
    ck_assert_int_eq(s->loss->index, 6);
}

/* Path under the test directory, in one of 8 static buffers used in turn. */
static const char *tmp_path(const char *name)
{
    static char buf[8][4096];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static int exists(const char *file)
{
    struct stat st;
    return stat(file, &st) == 0;
}

static void assert_no_tmp(const char *file)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    ck_assert_msg(!exists(tmp), "temp file %s left behind", tmp);
}

#ifdef HAVE_GRAPHVIZ
#include <gvc.h>

/* Whole file into a malloc'd, NUL-terminated buffer (NULL if missing); *n its size. */
static char *slurp(const char *file, size_t *n)
{
    FILE *f = fopen(file, "rb");
    char *buf;
    long len;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    buf = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    if (n)
        *n = (size_t)len;
    return buf;
}

/* Graphviz messages seen while a test parses or lays out DOT. */
static char gv_said[4096];
static int gv_listen(char *piece)
{
    size_t n = strlen(gv_said);
    snprintf(gv_said + n, sizeof gv_said - n, "%s", piece);
    return 0;
}

/* g's DOT text parsed back with libcgraph, which must not complain (never NULL). */
static Agraph_t *parse(tg_graph *g, const tg_dot_opts *o)
{
    char *text = NULL;
    size_t len = 0;
    Agraph_t *ag;
    ck_assert_msg(tg_dot_text(g, o, &text, &len) == TG_OK, "%s", tg_last_error());
    ck_assert_uint_eq(strlen(text), len);
    gv_said[0] = '\0';
    agseterrf(gv_listen);
    ag = agmemread(text);
    agseterrf(NULL);
    ck_assert_msg(ag != NULL, "libcgraph rejected the DOT (%s):\n%s", gv_said, text);
    ck_assert_msg(gv_said[0] == '\0', "libcgraph complained: %s", gv_said);
    tg_dot_text_free(text);
    return ag;
}

/* Attribute of a DOT node that must exist ("" when unset). */
static const char *attr(Agraph_t *ag, const char *node, const char *name)
{
    Agnode_t *n = agnode(ag, (char *)node, 0);
    char *v;
    ck_assert_msg(n != NULL, "no DOT node %s", node);
    v = agget(n, (char *)name);
    return v ? v : "";
}

/* The text a label shows, as Graphviz reads its escapes: \\ is a backslash, \n a line break
 * (static buffer). */
static const char *shown(const char *label)
{
    static char buf[4096];
    size_t n = 0;
    while (*label && n + 1 < sizeof buf) {
        if (label[0] == '\\' && (label[1] == '\\' || label[1] == 'n')) {
            buf[n++] = label[1] == 'n' ? '\n' : '\\';
            label += 2;
        } else {
            buf[n++] = *label++;
        }
    }
    buf[n] = '\0';
    return buf;
}

/* The text node's label shows. */
static const char *shown_at(Agraph_t *ag, const char *node)
{
    return shown(attr(ag, node, "label"));
}

static void assert_edge(Agraph_t *ag, const char *tail, const char *head)
{
    Agnode_t *t = agnode(ag, (char *)tail, 0), *h = agnode(ag, (char *)head, 0);
    ck_assert_msg(t && h && agedge(ag, t, h, NULL, 0), "no edge %s -> %s", tail, head);
}

#define ck_assert_contains(hay, needle)                                                      \
    ck_assert_msg(strstr((hay), (needle)) != NULL, "\"%s\" lacks \"%s\"", (hay), (needle))

/* ---- text ------------------------------------------------------------------------------ */
START_TEST(test_dot_text_structure)
{
    small_net s;
    Agraph_t *ag;
    int i;
    char id[16];
    small_build(&s);
    ag = parse(s.g, NULL);
    ck_assert(agisdirected(ag));
    ck_assert_int_eq(agnnodes(ag), 7 + 3);           /* tensors + ops */
    ck_assert_int_eq(agnedges(ag), (3 + 1) + (1 + 1) + (2 + 1)); /* inputs + output per op */
    for (i = 0; i < 7; ++i) {
        snprintf(id, sizeof id, "t%d", i);
        ck_assert_ptr_nonnull(agnode(ag, id, 0));
    }
    assert_edge(ag, "t0", "op0");
    assert_edge(ag, "t1", "op0");
    assert_edge(ag, "t2", "op0");
    assert_edge(ag, "op0", "t4");
    assert_edge(ag, "t4", "op1");
    assert_edge(ag, "op1", "t5");
    assert_edge(ag, "t5", "op2");
    assert_edge(ag, "t3", "op2");
    assert_edge(ag, "op2", "t6");
    ck_assert_ptr_null(agedge(ag, agnode(ag, "op0", 0), agnode(ag, "t0", 0), NULL, 0));
    ck_assert_str_eq(agget(ag, "rankdir"), "TB");
    agclose(ag);
    tg_graph_free(s.g);
}
END_TEST

START_TEST(test_dot_text_aliased_and_empty)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *p = tg_param(g, "p", 1, (const int[]){ 3 });
    Agraph_t *ag;
    ck_assert_ptr_nonnull(wsum(g, p, p)); /* p feeds the op twice: two edges */
    ag = parse(g, NULL);
    ck_assert_int_eq(agnnodes(ag), 3);
    ck_assert_int_eq(agnedges(ag), 3);
    agclose(ag);
    tg_graph_free(g);

    g = tg_graph_new();
    ag = parse(g, &(tg_dot_opts){ .title = "empty", .left_to_right = 1 });
    ck_assert_int_eq(agnnodes(ag), 0);
    ck_assert_str_eq(agget(ag, "rankdir"), "LR");
    ck_assert_contains(agget(ag, "label"), "empty");
    agclose(ag);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dot_text_labels)
{
    small_net s;
    Agraph_t *ag;
    small_build(&s);
    ag = parse(s.g, &(tg_dot_opts){ .title = "two layers" });
    ck_assert_str_eq(shown_at(ag, "t0"), "x [4,3]");
    ck_assert_str_eq(shown_at(ag, "t1"), "w_hidden [2,3]");
    ck_assert_str_eq(shown_at(ag, "t2"), "b [2]");
    ck_assert_str_eq(shown_at(ag, "t3"), "c [4,2]");
    ck_assert_str_eq(shown_at(ag, "t4"), "t4 [4,2]"); /* unnamed: t<index> [shape] */
    ck_assert_str_eq(shown_at(ag, "t5"), "t5 [4,2]");
    ck_assert_str_eq(shown_at(ag, "t6"), "t6 []");
    ck_assert_str_eq(shown_at(ag, "op0"), "linear");
    ck_assert_str_eq(shown_at(ag, "op1"), "tanh");
    ck_assert_str_eq(shown_at(ag, "op2"), "wsum");
    ck_assert_str_eq(shown(agget(ag, "label")), "two layers");
    agclose(ag);
    tg_graph_free(s.g);
}
END_TEST

START_TEST(test_dot_text_kinds)
{
    small_net s;
    Agraph_t *ag;
    small_build(&s);
    ag = parse(s.g, NULL);
    ck_assert_str_eq(attr(ag, "t0", "fillcolor"), "#d9ead3");   /* input: green */
    ck_assert_str_eq(attr(ag, "t1", "fillcolor"), "#cfe2f3");   /* params: light blue */
    ck_assert_str_eq(attr(ag, "t2", "fillcolor"), "#cfe2f3");
    ck_assert_str_eq(attr(ag, "t1", "shape"), "box");
    ck_assert_str_eq(attr(ag, "t3", "fillcolor"), "#eeeeee");   /* const: grey, dashed */
    ck_assert_contains(attr(ag, "t3", "style"), "dashed");
    ck_assert_str_eq(attr(ag, "t4", "shape"), "ellipse");       /* intermediates: plain */
    ck_assert_str_eq(attr(ag, "t4", "style"), "solid");
    ck_assert_str_eq(attr(ag, "t5", "style"), "solid");
    ck_assert_str_eq(attr(ag, "t6", "color"), "#cc0000");       /* the loss: red, bold */
    ck_assert_str_eq(attr(ag, "t6", "fillcolor"), "#f4cccc");
    ck_assert_contains(attr(ag, "t6", "style"), "bold");
    ck_assert_str_eq(attr(ag, "t6", "fontname"), "Helvetica-Bold");
    ck_assert_str_eq(attr(ag, "op0", "fillcolor"), "#fff2cc");  /* ops: yellow boxes */
    ck_assert_str_eq(attr(ag, "op0", "shape"), "box");
    agclose(ag);
    tg_graph_free(s.g);
}
END_TEST

/* A scalar is the loss only if it has no consumer and requires grad. */
START_TEST(test_dot_text_loss_rules)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 1, (const int[]){ 2 });
    tg_tensor *p = tg_param(g, "p", 1, (const int[]){ 1 });
    tg_tensor *nograd = wsum(g, x, x);              /* t2: scalar, but no gradient */
    tg_tensor *used = wsum(g, p, p);                /* t3: scalar with a consumer */
    tg_tensor *loss = tg_tanh(g, used);             /* t4: the loss */
    Agraph_t *ag;
    ck_assert_ptr_nonnull(nograd);
    ck_assert_ptr_nonnull(loss);
    ag = parse(g, NULL);
    ck_assert_str_eq(attr(ag, "t2", "style"), "solid");
    ck_assert_str_eq(attr(ag, "t3", "style"), "solid");
    ck_assert_str_eq(attr(ag, "t4", "color"), "#cc0000");
    agclose(ag);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dot_text_metric)
{
    small_net s;
    Agraph_t *ag;
    /* finite nonzero: 1e-2, 1e-6, 1e-4 -> log10 range [-6, -2]; u = 1, 0, 0.5 */
    const double m[7] = { NAN, 1e-2, 1e-6, NAN, 1e-4, 0.0, INFINITY };
    small_build(&s);
    ag = parse(s.g, &(tg_dot_opts){ .tensor_metric = m, .n_metric = 7,
                                    .metric_label = "|grad|" });
    ck_assert_str_eq(attr(ag, "t1", "fillcolor"), "#1a9850");   /* top: green */
    ck_assert_str_eq(attr(ag, "t2", "fillcolor"), "#a50026");   /* bottom: dark red */
    ck_assert_str_eq(attr(ag, "t4", "fillcolor"), "#fee08b");   /* middle: yellow */
    ck_assert_str_eq(attr(ag, "t5", "fillcolor"), "#a50026");   /* zero: vanished */
    ck_assert_str_eq(attr(ag, "t6", "fillcolor"), "#7b3294");   /* inf: purple */
    ck_assert_str_eq(attr(ag, "t0", "fillcolor"), "#d9ead3");   /* NaN: kind colour */
    ck_assert_str_eq(attr(ag, "t3", "fillcolor"), "#eeeeee");
    ck_assert_str_eq(attr(ag, "t4", "style"), "filled");        /* intermediates now filled */
    ck_assert_str_eq(attr(ag, "t2", "fontcolor"), "white");     /* dark fill, light text */
    ck_assert_str_eq(attr(ag, "t4", "fontcolor"), "black");
    ck_assert_str_eq(shown_at(ag, "t1"), "w_hidden [2,3]\n|grad| 0.01");
    ck_assert_str_eq(shown_at(ag, "t2"), "b [2]\n|grad| 1e-06");
    ck_assert_str_eq(shown_at(ag, "t4"), "t4 [4,2]\n|grad| 0.0001");
    ck_assert_str_eq(shown_at(ag, "t5"), "t5 [4,2]\n|grad| 0");
    ck_assert_str_eq(shown_at(ag, "t6"), "t6 []\n|grad| inf");
    ck_assert_str_eq(shown_at(ag, "t0"), "x [4,3]");
    ck_assert_str_eq(shown(agget(ag, "label")), "|grad| on a log colour scale: "
                     "1.0e-06 dark red, 1.0e-04 yellow, 1.0e-02 green");
    agclose(ag);

    /* A shorter array covers only the first tensors; a single value sits at the top. */
    ag = parse(s.g, &(tg_dot_opts){ .tensor_metric = m, .n_metric = 2 });
    ck_assert_str_eq(attr(ag, "t1", "fillcolor"), "#1a9850");
    ck_assert_str_eq(shown_at(ag, "t1"), "w_hidden [2,3]\nmetric 0.01");
    ck_assert_str_eq(attr(ag, "t2", "fillcolor"), "#cfe2f3");
    ck_assert_str_eq(shown_at(ag, "t2"), "b [2]");
    agclose(ag);

    /* Values within a factor 10 are no "vanishing": the scale spans at least 3 decades below
     * the largest, [-3, 0]: 0.1 sits at u = 2/3, between yellow and light green. */
    ag = parse(s.g, &(tg_dot_opts){ .tensor_metric = (const double[]){ 1.0, 0.1 },
                                    .n_metric = 2 });
    ck_assert_str_eq(attr(ag, "t0", "fillcolor"), "#1a9850");
    ck_assert_str_eq(attr(ag, "t1", "fillcolor"), "#c3db75");
    ck_assert_contains(agget(ag, "label"), "1.0e-03 dark red");
    agclose(ag);
    tg_graph_free(s.g);
}
END_TEST

/* Hostile names parse back, and render with every label intact: an HTML-label syntax error
 * would make Graphviz fall back to showing the raw label, tags and all. (The test makes no
 * Graphviz context of its own: freeing one breaks the library's, see dot.c.) */
START_TEST(test_dot_text_escaping)
{
    static const char *names[] = {
        "say \"hi\"", "back\\slash", "trailing\\", "two\nlines", "<b>not bold</b>",
        "a & b; c > d", "bad utf8 \xff\xc3(", "caf\xc3\xa9 \xe2\x88\x87", "tab\tbell\a",
        "\\\"", "{rec|ord}", "\\N \\G \\L",
    };
    const int n_names = (int)(sizeof names / sizeof names[0]);
    char longname[201];
    tg_graph *g = tg_graph_new();
    Agraph_t *ag;
    const char *lbl, *svgfile = tmp_path("dot_hostile.svg");
    double metric[14];
    char *svg;
    int i;
    memset(longname, 'n', 200);
    longname[200] = '\0';
    for (i = 0; i < n_names; ++i)
        ck_assert_ptr_nonnull(tg_param(g, names[i], 1, (const int[]){ i + 1 }));
    ck_assert_ptr_nonnull(tg_param(g, longname, 1, (const int[]){ 7 }));
    ck_assert_ptr_nonnull(tg_tanh(g, tg_graph_tensor(g, 0)));
    for (i = 0; i < 14; ++i)
        metric[i] = i == 13 ? 1.0 : NAN;                 /* only the tanh output, t13 */
    ag = parse(g, &(tg_dot_opts){ .title = "\"quoted\" <title> \\", .tensor_metric = metric,
                                  .n_metric = 14, .metric_label = "<m>\\" });
    ck_assert_int_eq(agnnodes(ag), n_names + 1 + 2);
    ck_assert_str_eq(shown_at(ag, "t0"), "say \"hi\" [1]");
    ck_assert_str_eq(shown_at(ag, "t1"), "back\\slash [2]");
    ck_assert_str_eq(shown_at(ag, "t2"), "trailing\\ [3]");
    ck_assert_str_eq(shown_at(ag, "t3"), "two\\nlines [4]"); /* shown as the characters \n */
    ck_assert_str_eq(shown_at(ag, "t4"), "<b>not bold</b> [5]");
    ck_assert_str_eq(shown_at(ag, "t5"), "a & b; c > d [6]");
    ck_assert_str_eq(shown_at(ag, "t6"), "bad utf8 ?\?( [7]");
    ck_assert_str_eq(shown_at(ag, "t7"), "caf\xc3\xa9 \xe2\x88\x87 [8]");
    ck_assert_str_eq(shown_at(ag, "t8"), "tab?bell? [9]");
    ck_assert_str_eq(shown_at(ag, "t9"), "\\\" [10]");
    ck_assert_str_eq(shown_at(ag, "t10"), "{rec|ord} [11]");
    ck_assert_str_eq(shown_at(ag, "t11"), "\\N \\G \\L [12]");
    lbl = shown_at(ag, "t12");
    ck_assert_int_eq(strspn(lbl, "n"), 60);  /* 60 characters, then the ellipsis */
    ck_assert_str_eq(lbl + 60, "... [7]");
    ck_assert_str_eq(shown(agget(ag, "label")), "\"quoted\" <title> \\\n<m>\\ on a log colour "
                     "scale: 1.0e-03 dark red, 3.2e-02 yellow, 1.0e+00 green");
    ck_assert_str_eq(shown_at(ag, "t13"), "t13 [1]\n<m>\\ 1");

    agclose(ag);

    ck_assert_msg(tg_dot_render(g, svgfile, NULL, NULL) == TG_OK, "%s", tg_last_error());
    svg = slurp(svgfile, NULL);
    ck_assert_contains(svg, ">say &quot;hi&quot; [1]</text>");  /* SVG text is XML-escaped */
    ck_assert_contains(svg, ">back\\slash [2]</text>");
    ck_assert_contains(svg, ">trailing\\ [3]</text>");
    ck_assert_contains(svg, ">two\\nlines [4]</text>");
    ck_assert_contains(svg, ">&lt;b&gt;not bold&lt;/b&gt; [5]</text>");
    ck_assert_contains(svg, ">a &amp; b; c &gt; d [6]</text>");
    ck_assert_contains(svg, ">\\&quot; [10]</text>");
    ck_assert_contains(svg, ">\\N \\G \\L [12]</text>");       /* not expanded to t11 */
    free(svg);
    unlink(svgfile);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_dot_text_reproducible)
{
    small_net s1, s2;
    char *t1, *t2;
    small_build(&s1);
    small_build(&s2);
    ck_assert_int_eq(tg_dot_text(s1.g, NULL, &t1, NULL), TG_OK);
    ck_assert_int_eq(tg_dot_text(s2.g, NULL, &t2, NULL), TG_OK);
    ck_assert_str_eq(t1, t2);                  /* no pointers in names or labels */
    ck_assert_contains(t1, "digraph");
    ck_assert_ptr_null(strstr(t1, "0x"));
    tg_dot_text_free(t1);
    tg_dot_text_free(t2);
    tg_graph_free(s1.g);
    tg_graph_free(s2.g);
}
END_TEST

/* Graphviz is serialised by a lock: two threads exporting at once both get the right text. */
typedef struct {
    tg_graph *g;
    const char *expect;
    int ok;
} thread_job;

static void *export_many(void *arg)
{
    thread_job *j = arg;
    int i;
    j->ok = 1;
    for (i = 0; i < 20; ++i) {
        char *t = NULL;
        if (tg_dot_text(j->g, NULL, &t, NULL) != TG_OK || strcmp(t, j->expect) != 0)
            j->ok = 0;
        tg_dot_text_free(t);
    }
    return NULL;
}

START_TEST(test_dot_text_threads)
{
    small_net s1, s2;
    char *e1, *e2;
    thread_job j1, j2;
    pthread_t th1, th2;
    small_build(&s1);
    small_build(&s2);
    ck_assert_ptr_nonnull(tg_tanh(s2.g, s2.loss)); /* differs from s1 */
    ck_assert_int_eq(tg_dot_text(s1.g, NULL, &e1, NULL), TG_OK);
    ck_assert_int_eq(tg_dot_text(s2.g, NULL, &e2, NULL), TG_OK);
    ck_assert_str_ne(e1, e2);
    j1 = (thread_job){ s1.g, e1, 0 };
    j2 = (thread_job){ s2.g, e2, 0 };
    ck_assert_int_eq(pthread_create(&th1, NULL, export_many, &j1), 0);
    ck_assert_int_eq(pthread_create(&th2, NULL, export_many, &j2), 0);
    pthread_join(th1, NULL);
    pthread_join(th2, NULL);
    ck_assert(j1.ok && j2.ok);
    tg_dot_text_free(e1);
    tg_dot_text_free(e2);
    tg_graph_free(s1.g);
    tg_graph_free(s2.g);
}
END_TEST

/* ---- files ----------------------------------------------------------------------------- */
START_TEST(test_dot_write_file)
{
    small_net s;
    const char *file = tmp_path("dot_small.dot");
    char *text, *got;
    size_t len, glen;
    small_build(&s);
    unlink(file);
    ck_assert_msg(tg_dot_write(s.g, file, NULL) == TG_OK, "%s", tg_last_error());
    got = slurp(file, &glen);
    ck_assert_ptr_nonnull(got);
    ck_assert_int_eq(tg_dot_text(s.g, NULL, &text, &len), TG_OK);
    ck_assert_uint_eq(glen, len);
    ck_assert_str_eq(got, text);
    assert_no_tmp(file);
    /* a second write replaces the file */
    ck_assert_int_eq(tg_dot_write(s.g, file, &(tg_dot_opts){ .title = "again" }), TG_OK);
    free(got);
    got = slurp(file, NULL);
    ck_assert_contains(got, "again");
    free(got);
    tg_dot_text_free(text);
    unlink(file);
    tg_graph_free(s.g);
}
END_TEST

START_TEST(test_dot_write_missing_dir)
{
    small_net s;
    const char *file = tmp_path("dot_no_such_dir/g.dot");
    small_build(&s);
    ck_assert_int_eq(tg_dot_write(s.g, file, NULL), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, file);
    ck_assert_error(TG_ERR_IO, "No such file or directory");
    assert_no_tmp(file);
    ck_assert_int_eq(tg_dot_render(s.g, "/proc/tapegrad_dot.svg", NULL, NULL), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, "cannot write '/proc/tapegrad_dot.svg'");
    ck_assert(!exists("/proc/tapegrad_dot.svg"));
    tg_graph_free(s.g);
}
END_TEST

/* The target is a directory: the temp file is written, the rename fails and it is removed. */
START_TEST(test_dot_write_onto_directory)
{
    small_net s;
    const char *file = tmp_path("dot_is_a_dir");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    small_build(&s);
    ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
    ck_assert_int_eq(tg_dot_write(s.g, dir, NULL), TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, dir);
    ck_assert_error(TG_ERR_IO, "renaming");
    ck_assert_error(TG_ERR_IO, "Is a directory");
    assert_no_tmp(dir);
    ck_assert_int_eq(rmdir(dir), 0); /* still an (empty) directory */
    tg_graph_free(s.g);
}
END_TEST

/* A write that fails midway (file size limit: EFBIG) keeps the old file and removes the temp. */
START_TEST(test_dot_write_keeps_old_file)
{
    static const char old[] = "digraph old { a -> b; }\n";
    small_net s;
    const char *file = tmp_path("dot_keep.dot");
    struct rlimit saved, small = { 256, 256 };
    void (*saved_sig)(int);
    char *now;
    FILE *f;
    tg_status st;
    int rl;
    small_build(&s);
    f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fputs(old, f);
    fclose(f);

    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small.rlim_max = saved.rlim_max;
    /* no assertion while the limit is on: Check writes its own log with each one */
    saved_sig = signal(SIGXFSZ, SIG_IGN);
    rl = setrlimit(RLIMIT_FSIZE, &small);
    st = tg_dot_write(s.g, file, NULL);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, saved_sig);

    ck_assert_int_eq(rl, 0);
    ck_assert_int_eq(st, TG_ERR_IO);
    ck_assert_error(TG_ERR_IO, file);
    ck_assert_error(TG_ERR_IO, "File too large");
    now = slurp(file, NULL);
    ck_assert_str_eq(now, old);
    assert_no_tmp(file);
    free(now);
    unlink(file);
    tg_graph_free(s.g);
}
END_TEST

/* The text must not depend on whether something was rendered before in the process (Graphviz's
 * first context changes a process-wide default label). */
START_TEST(test_dot_text_same_after_render)
{
    small_net s;
    const char *file = tmp_path("dot_before_after.svg");
    char *before, *after;
    small_build(&s);
    ck_assert_int_eq(tg_dot_text(s.g, NULL, &before, NULL), TG_OK);
    ck_assert_msg(tg_dot_render(s.g, file, "svg", NULL) == TG_OK, "%s", tg_last_error());
    ck_assert_int_eq(tg_dot_text(s.g, NULL, &after, NULL), TG_OK);
    ck_assert_str_eq(before, after);
    ck_assert_contains(before, "label=\"\\N\"");
    tg_dot_text_free(before);
    tg_dot_text_free(after);
    unlink(file);
    tg_graph_free(s.g);
}
END_TEST

START_TEST(test_dot_render_svg)
{
    small_net s;
    const char *file = tmp_path("dot_small.svg");
    char *svg;
    small_build(&s);
    unlink(file);
    ck_assert_msg(tg_dot_render(s.g, file, NULL, &(tg_dot_opts){ .title = "net" }) == TG_OK,
                  "%s", tg_last_error());
    svg = slurp(file, NULL);
    ck_assert_ptr_nonnull(svg);
    ck_assert_int_eq(strncmp(svg, "<?xml", 5), 0);
    ck_assert_contains(svg, "<svg");
    ck_assert_contains(svg, "w_hidden");
    ck_assert_contains(svg, "<title>op0</title>");
    ck_assert_contains(svg, "<title>t0&#45;&gt;op0</title>");
    assert_no_tmp(file);
    free(svg);
    unlink(file);
    tg_graph_free(s.g);
}
END_TEST

START_TEST(test_dot_render_png)
{
    static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    small_net s;
    const double m[7] = { 1, 2, 3, 4, 5, 6, 7 };
    char file[4096], file2[4096], *png;
    size_t n;
    snprintf(file, sizeof file, "%s", tmp_path("dot_small.PNG"));
    snprintf(file2, sizeof file2, "%s", tmp_path("dot_small.img"));
    small_build(&s);
    ck_assert_msg(tg_dot_render(s.g, file, NULL, NULL) == TG_OK, "%s", tg_last_error());
    png = slurp(file, &n);
    ck_assert_uint_gt(n, 100);
    ck_assert_int_eq(memcmp(png, sig, 8), 0);
    free(png);
    ck_assert_int_eq(tg_dot_render(s.g, file2, "png",
                                   &(tg_dot_opts){ .tensor_metric = m, .n_metric = 7 }), TG_OK);
    png = slurp(file2, &n);
    ck_assert_int_eq(memcmp(png, sig, 8), 0);
    free(png);
    assert_no_tmp(file);
    unlink(file);
    unlink(file2);
    tg_graph_free(s.g);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------ */
START_TEST(test_dot_render_format_unknown)
{
    small_net s;
    const char *file = tmp_path("dot_small.jpg");
    small_build(&s);
    ck_assert_int_eq(tg_dot_render(s.g, file, NULL, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'jpg'");
    ck_assert_error(TG_ERR_ARG, "not svg or png");
    ck_assert_int_eq(tg_dot_render(s.g, tmp_path("dot_noext"), NULL, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "dot_noext");
    ck_assert_int_eq(tg_dot_render(s.g, tmp_path("dot.d/x"), NULL, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "''");  /* the dot in the directory is no extension */
    ck_assert_int_eq(tg_dot_render(s.g, tmp_path("dot_x.svg"), "pdf", NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'pdf'");
    ck_assert(!exists(file) && !exists(tmp_path("dot_x.svg")));
    tg_graph_free(s.g);
}
END_TEST

START_TEST(test_dot_render_limit)
{
    small_net s;
    const char *file = tmp_path("dot_limit.svg");
    small_build(&s);
    unlink(file);
    ck_assert_int_eq(tg_dot_render(s.g, file, NULL, &(tg_dot_opts){ .max_render_nodes = 9 }),
                     TG_ERR_LIMIT);
    ck_assert_error(TG_ERR_LIMIT, "10 DOT nodes");
    ck_assert_error(TG_ERR_LIMIT, "limit 9");
    ck_assert(!exists(file));
    ck_assert_int_eq(tg_dot_render(s.g, file, NULL, &(tg_dot_opts){ .max_render_nodes = 10 }),
                     TG_OK);
    ck_assert(exists(file));
    unlink(file);
    tg_graph_free(s.g);
}
END_TEST

/* A Graphviz without its dot plugin (GVBINDIR at an empty directory) fails the layout:
 * TG_ERR_IO with Graphviz's message, no file. Run in a child process, because the library
 * keeps its first Graphviz context for the life of the process; with CK_FORK=no an earlier
 * test has made that context, the child inherits it, and there is nothing to test. */
START_TEST(test_dot_render_layout_fails)
{
    small_net s;
    const char *file = tmp_path("dot_noplugin.svg"), *dir = tmp_path("dot_noplugin_dir");
    char msg[2048];
    int fds[2], st = 0, wst;
    ssize_t n, got = 0;
    pid_t pid;
    if (getenv("CK_FORK") && !strcmp(getenv("CK_FORK"), "no"))
        return;
    small_build(&s);
    unlink(file);
    ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
    ck_assert_int_eq(pipe(fds), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        setenv("GVBINDIR", dir, 1);
        st = tg_dot_render(s.g, file, NULL, NULL);
        dprintf(fds[1], "%d %s", st, tg_last_error());
        _exit(0);
    }
    close(fds[1]);
    while ((n = read(fds[0], msg + got, sizeof msg - 1 - (size_t)got)) > 0)
        got += n;
    close(fds[0]);
    msg[got] = '\0';
    ck_assert_int_eq(waitpid(pid, &wst, 0), pid);
    ck_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
    ck_assert_int_eq(sscanf(msg, "%d", &st), 1);
    ck_assert_int_eq(st, TG_ERR_IO);
    ck_assert_contains(msg, "dot_render: '");
    ck_assert_contains(msg, "dot_noplugin.svg': dot layout failed: ");
    ck_assert_contains(msg, "\"dot\" not recognized");         /* Graphviz's own words */
    ck_assert(!exists(file));
    assert_no_tmp(file);
    rmdir(dir);
    tg_graph_free(s.g);
}
END_TEST

START_TEST(test_dot_args)
{
    small_net s;
    char *text = (char *)"unchanged";
    small_build(&s);
    ck_assert_int_eq(tg_dot_text(NULL, NULL, &text, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "dot_text: graph is NULL");
    ck_assert_ptr_null(text);
    ck_assert_int_eq(tg_dot_text(s.g, NULL, NULL, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "text is NULL");
    ck_assert_int_eq(tg_dot_write(s.g, NULL, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "dot_write: file is NULL");
    ck_assert_int_eq(tg_dot_write(NULL, tmp_path("dot_x.dot"), NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "dot_write: graph is NULL");
    ck_assert_int_eq(tg_dot_render(s.g, NULL, NULL, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "dot_render: file is NULL");
    ck_assert_int_eq(tg_dot_write(s.g, tmp_path("dot_x.dot"),
                                  &(tg_dot_opts){ .tensor_metric = &(double){ 1 },
                                                  .n_metric = -1 }), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "n_metric is -1");
    ck_assert_int_eq(tg_dot_render(s.g, tmp_path("dot_x.svg"), NULL,
                                   &(tg_dot_opts){ .max_render_nodes = -2 }), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "max_render_nodes is -2");
    ck_assert(!exists(tmp_path("dot_x.dot")) && !exists(tmp_path("dot_x.svg")));
    tg_graph_free(s.g);
}
END_TEST

/* Failing the N-th library allocation, for every N, gives TG_ERR_NOMEM and leaks nothing. */
static long n_calls, fail_at;
static void *fail_malloc(size_t n, void *u)
{
    return n_calls++ == fail_at ? NULL : malloc(n);
}
static void *fail_realloc(void *p, size_t n, void *u)
{
    return n_calls++ == fail_at ? NULL : realloc(p, n);
}
static void fail_free(void *p, void *u) { free(p); }

START_TEST(test_dot_text_nomem)
{
    static const tg_allocator failing = { fail_malloc, fail_realloc, fail_free, NULL };
    small_net s;
    char *text = NULL, *ref;
    tg_status st = TG_ERR_NOMEM;
    const char *file = tmp_path("dot_nomem.dot");
    small_build(&s);
    ck_assert_int_eq(tg_dot_text(s.g, NULL, &ref, NULL), TG_OK);
    for (fail_at = 0; fail_at < 100; ++fail_at) {
        n_calls = 0;
        tg_set_allocator(&failing);
        st = tg_dot_text(s.g, NULL, &text, NULL);
        tg_set_allocator(NULL);
        if (st == TG_OK)
            break;
        ck_assert_error(TG_ERR_NOMEM, "dot_text: out of memory");
        ck_assert_ptr_null(text);
    }
    ck_assert_int_eq(st, TG_OK);
    ck_assert_int_ge(fail_at, 3);      /* two tables and at least one text buffer */
    ck_assert_str_eq(text, ref);
    tg_dot_text_free(text);

    /* the temp name in the file write */
    for (fail_at = 0; fail_at < 100; ++fail_at) {
        n_calls = 0;
        tg_set_allocator(&failing);
        st = tg_dot_write(s.g, file, NULL);
        tg_set_allocator(NULL);
        if (st == TG_OK)
            break;
        ck_assert_error(TG_ERR_NOMEM, "out of memory");
        ck_assert(!exists(file));
    }
    ck_assert_int_eq(st, TG_OK);
    unlink(file);
    tg_dot_text_free(ref);
    tg_graph_free(s.g);
}
END_TEST

Suite *suite_dot(void)
{
    Suite *s = suite_create("dot");
    TCase *tc = tcase_create("text");
    tcase_add_test(tc, test_dot_text_structure);
    tcase_add_test(tc, test_dot_text_aliased_and_empty);
    tcase_add_test(tc, test_dot_text_labels);
    tcase_add_test(tc, test_dot_text_kinds);
    tcase_add_test(tc, test_dot_text_loss_rules);
    tcase_add_test(tc, test_dot_text_metric);
    tcase_add_test(tc, test_dot_text_escaping);
    tcase_add_test(tc, test_dot_text_reproducible);
    tcase_add_test(tc, test_dot_text_threads);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_test(tc, test_dot_write_file);
    tcase_add_test(tc, test_dot_write_missing_dir);
    tcase_add_test(tc, test_dot_write_onto_directory);
    tcase_add_test(tc, test_dot_write_keeps_old_file);
    tcase_add_test(tc, test_dot_render_svg);
    tcase_add_test(tc, test_dot_text_same_after_render);
    tcase_add_test(tc, test_dot_render_png);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_dot_render_format_unknown);
    tcase_add_test(tc, test_dot_render_limit);
    tcase_add_test(tc, test_dot_render_layout_fails);
    tcase_add_test(tc, test_dot_args);
    tcase_add_test(tc, test_dot_text_nomem);
    suite_add_tcase(s, tc);
    return s;
}

#else /* !HAVE_GRAPHVIZ */

START_TEST(test_dot_unavailable)
{
    small_net s;
    char *text = (char *)"unchanged";
    const char *file = tmp_path("dot_unavailable.dot");
    small_build(&s);
    ck_assert_int_eq(tg_dot_text(s.g, NULL, &text, NULL), TG_ERR_UNAVAILABLE);
    ck_assert_error(TG_ERR_UNAVAILABLE, "dot_text: DOT export is not available in this build "
                                        "(configure found no Graphviz)");
    ck_assert_ptr_null(text);
    ck_assert_int_eq(tg_dot_write(s.g, file, NULL), TG_ERR_UNAVAILABLE);
    ck_assert_error(TG_ERR_UNAVAILABLE, "dot_write: DOT export is not available");
    ck_assert_int_eq(tg_dot_render(s.g, file, "svg", NULL), TG_ERR_UNAVAILABLE);
    ck_assert_error(TG_ERR_UNAVAILABLE, "configure found no Graphviz");
    ck_assert(!exists(file));
    assert_no_tmp(file);
    tg_graph_free(s.g);
}
END_TEST

Suite *suite_dot(void)
{
    Suite *s = suite_create("dot");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, test_dot_unavailable);
    suite_add_tcase(s, tc);
    return s;
}

#endif /* HAVE_GRAPHVIZ */
