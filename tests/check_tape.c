/*
 * check_tape.c -- the tape: recording, replay with new data, backward against hand-computed
 * gradients, accumulation where a tensor feeds several ops, unreachable tensors, re-running
 * backward, hooks (count, values, removal, errors), forward_to and the state errors.
 */
#include <math.h>
#include "tests.h"

/* L = sum(tanh(x w^T + b)) as ones[1,B] . y . ones[O,1], on x [2,3], w [2,3], b [2]. */
typedef struct {
    tg_graph *g;
    tg_tensor *x, *w, *b, *z, *y, *loss;
} net;

static void net_build(net *n)
{
    static const float xv[] = { 0.5f, -1.0f, 0.25f, 2.0f, 0.1f, -0.3f };
    static const float wv[] = { 0.2f, 0.4f, -0.6f, -0.1f, 0.3f, 0.5f };
    static const float bv[] = { 0.05f, -0.2f };
    tg_tensor *r, *c;
    n->g = tg_graph_new();
    n->x = tg_input(n->g, "x", 2, (const int[]){ 2, 3 });
    n->w = tg_param(n->g, "w", 2, (const int[]){ 2, 3 });
    n->b = tg_param(n->g, "b", 1, (const int[]){ 2 });
    tg_tensor_set(n->x, xv, 6);
    tg_tensor_set(n->w, wv, 6);
    tg_tensor_set(n->b, bv, 2);
    r = tg_const(n->g, "ones_r", 2, (const int[]){ 1, 2 }, (const float[]){ 1, 1 });
    c = tg_const(n->g, "ones_c", 2, (const int[]){ 2, 1 }, (const float[]){ 1, 1 });
    n->z = tg_linear(n->g, n->x, n->w, n->b);
    n->y = tg_tanh(n->g, n->z);
    n->loss = tg_matmul(n->g, tg_matmul(n->g, r, n->y, 0, 0), c, 0, 0);
    ck_assert_ptr_nonnull(n->loss);
}

/* Reference forward/backward in double. */
static double ref(const float *x, const float *w, const float *b, double *dw, double *db,
                  double *dx)
{
    double L = 0;
    int i, o, k;
    for (k = 0; k < 6; ++k)
        dw[k] = dx[k] = 0;
    db[0] = db[1] = 0;
    for (i = 0; i < 2; ++i)
        for (o = 0; o < 2; ++o) {
            double z = b[o], y, dz;
            for (k = 0; k < 3; ++k)
                z += (double)x[i * 3 + k] * w[o * 3 + k];
            y = tanh(z);
            L += y;
            dz = 1 - y * y;
            db[o] += dz;
            for (k = 0; k < 3; ++k) {
                dw[o * 3 + k] += dz * x[i * 3 + k];
                dx[i * 3 + k] += dz * w[o * 3 + k];
            }
        }
    return L;
}

START_TEST(test_tape_records_and_computes_at_once)
{
    net n;
    double dw[6], db[2], dx[6];
    net_build(&n);
    ck_assert_int_eq(tg_graph_n_nodes(n.g), 4);
    ck_assert_ptr_eq(n.z->producer, tg_graph_node(n.g, 0));
    ck_assert_ptr_eq(tg_graph_node(n.g, 0)->op, &tg_op_linear);
    ck_assert_double_eq_tol(n.loss->data[0], ref(n.x->data, n.w->data, n.b->data, dw, db, dx),
                            1e-6);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_backward_matches_reference)
{
    net n;
    double dw[6], db[2], dx[6];
    int k;
    net_build(&n);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    ref(n.x->data, n.w->data, n.b->data, dw, db, dx);
    for (k = 0; k < 6; ++k)
        ck_assert_double_eq_tol(n.w->grad[k], dw[k], 1e-6);
    ck_assert_double_eq_tol(n.b->grad[0], db[0], 1e-6);
    ck_assert_double_eq_tol(n.b->grad[1], db[1], 1e-6);
    ck_assert_ptr_null(n.x->grad); /* inputs carry no gradient unless asked */
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_replay_with_new_data)
{
    net n;
    double dw[6], db[2], dx[6], L;
    float x2[6] = { -0.7f, 0.3f, 1.1f, 0.0f, -2.0f, 0.9f };
    int nodes, k;
    net_build(&n);
    nodes = tg_graph_n_nodes(n.g);
    ck_assert_int_eq(tg_tensor_bind(n.x, x2), TG_OK);
    ck_assert_int_eq(tg_graph_forward(n.g), TG_OK);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    L = ref(x2, n.w->data, n.b->data, dw, db, dx);
    ck_assert_double_eq_tol(n.loss->data[0], L, 1e-6);
    for (k = 0; k < 6; ++k)
        ck_assert_double_eq_tol(n.w->grad[k], dw[k], 1e-6);
    ck_assert_int_eq(tg_graph_n_nodes(n.g), nodes); /* replay appends nothing */
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_backward_twice_identical)
{
    net n;
    float first[6];
    net_build(&n);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    memcpy(first, n.w->grad, sizeof first);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    ck_assert_mem_eq(first, n.w->grad, sizeof first);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_input_grad_on_request)
{
    net n;
    double dw[6], db[2], dx[6];
    tg_tensor *r, *c;
    int k;
    n.g = tg_graph_new();
    n.x = tg_input(n.g, "x", 2, (const int[]){ 2, 3 });
    ck_assert_int_eq(tg_tensor_requires_grad(n.x), TG_OK);
    n.w = tg_param(n.g, "w", 2, (const int[]){ 2, 3 });
    n.b = tg_param(n.g, "b", 1, (const int[]){ 2 });
    for (k = 0; k < 6; ++k) {
        n.x->data[k] = 0.3f * (float)k - 0.7f;
        n.w->data[k] = 0.1f * (float)(k % 4) - 0.15f;
    }
    r = tg_const(n.g, "r", 2, (const int[]){ 1, 2 }, (const float[]){ 1, 1 });
    c = tg_const(n.g, "c", 2, (const int[]){ 2, 1 }, (const float[]){ 1, 1 });
    n.loss = tg_matmul(n.g, tg_matmul(n.g, r, tg_tanh(n.g, tg_linear(n.g, n.x, n.w, n.b)), 0,
                                      0), c, 0, 0);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    ref(n.x->data, n.w->data, n.b->data, dw, db, dx);
    for (k = 0; k < 6; ++k)
        ck_assert_double_eq_tol(n.x->grad[k], dx[k], 1e-6);
    tg_graph_free(n.g);
}
END_TEST

/* Each backward recomputes gradients from zero: a second loss does not add to the first's. */
START_TEST(test_tape_backward_recomputes_from_zero)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_param(g, "x", 2, (const int[]){ 1, 2 });
    tg_tensor *a = tg_const(g, "a", 2, (const int[]){ 2, 1 }, (const float[]){ 3, 5 });
    tg_tensor *b = tg_const(g, "b", 2, (const int[]){ 2, 1 }, (const float[]){ -1, 7 });
    tg_tensor *la, *lb;
    x->data[0] = 0.5f;
    x->data[1] = 2.0f;
    la = tg_matmul(g, x, a, 0, 0);
    lb = tg_matmul(g, x, b, 0, 0);
    ck_assert_int_eq(tg_backward(g, la), TG_OK);
    ck_assert_float_eq(x->grad[0], 3.0f);
    ck_assert_float_eq(x->grad[1], 5.0f);
    ck_assert_int_eq(tg_backward(g, lb), TG_OK);
    ck_assert_float_eq(x->grad[0], -1.0f);
    ck_assert_float_eq(x->grad[1], 7.0f);
    tg_graph_free(g);
}
END_TEST

/* The same x used twice in one graph whose loss depends on both uses. */
START_TEST(test_tape_accumulates_two_paths)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_param(g, "x", 2, (const int[]){ 1, 2 });
    tg_tensor *ab = tg_const(g, "ab", 2, (const int[]){ 2, 2 }, (const float[]){ 3, -1, 5, 7 });
    tg_tensor *u, *v, *loss;
    x->data[0] = 0.5f;
    x->data[1] = 2.0f;
    u = tg_matmul(g, x, ab, 0, 0); /* [1,2] = x AB */
    v = tg_matmul(g, u, x, 0, 1);  /* [1,1] = x AB x^T: x reaches the loss by two paths */
    loss = v;
    /* d/dx (x AB x^T) = x (AB + AB^T) */
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    ck_assert_float_eq_tol(x->grad[0], 0.5f * 6 + 2.0f * 4, 1e-6f);
    ck_assert_float_eq_tol(x->grad[1], 0.5f * 4 + 2.0f * 14, 1e-6f);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tape_unreached_gets_zero)
{
    net n;
    tg_tensor *other;
    net_build(&n);
    other = tg_param(n.g, "other", 1, (const int[]){ 4 });
    ck_assert_ptr_nonnull(tg_tanh(n.g, other)); /* recorded but not on the loss's path */
    ck_assert_int_eq(tg_graph_forward(n.g), TG_OK);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    ck_assert_ptr_nonnull(other->grad);
    ck_assert_float_eq(other->grad[0], 0.0f);
    ck_assert_float_eq(other->grad[3], 0.0f);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_zero_grad)
{
    net n;
    net_build(&n);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    ck_assert(n.w->grad[0] != 0.0f);
    tg_graph_zero_grad(n.g);
    ck_assert_float_eq(n.w->grad[0], 0.0f);
    ck_assert_float_eq(n.b->grad[1], 0.0f);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_backward_seed)
{
    net n;
    float seed[4] = { 1, 0, 0, 0 };
    net_build(&n);
    ck_assert_int_eq(tg_backward_seed(n.g, n.y, seed), TG_OK);
    /* only y[0,0] = tanh(z00) contributes: db0 = 1 - y00^2, db1 = 0 */
    ck_assert_double_eq_tol(n.b->grad[0], 1 - n.y->data[0] * n.y->data[0], 1e-6);
    ck_assert_float_eq(n.b->grad[1], 0.0f);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_forward_to)
{
    net n;
    float x2[6] = { 1, 1, 1, 1, 1, 1 };
    float loss_before;
    net_build(&n);
    loss_before = n.loss->data[0];
    tg_tensor_bind(n.x, x2);
    ck_assert_int_eq(tg_graph_forward_to(n.g, n.y), TG_OK);
    ck_assert_double_eq_tol(n.y->data[0], tanh(0.2 + 0.4 - 0.6 + 0.05), 1e-6);
    ck_assert_float_eq(n.loss->data[0], loss_before); /* later nodes not run */
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_ERR_STATE);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_backward_state_errors)
{
    net n;
    float x2[6] = { 0 };
    net_build(&n);
    tg_tensor_bind(n.x, x2); /* new data, no forward yet */
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "run tg_graph_forward first");
    ck_assert_int_eq(tg_backward(n.g, n.y), TG_ERR_SHAPE);
    ck_assert_error(TG_ERR_SHAPE, "not a scalar");
    ck_assert_int_eq(tg_backward(n.g, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_backward_seed(n.g, n.y, NULL), TG_ERR_ARG);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_backward_from_constant)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *c = tg_const(g, "c", 2, (const int[]){ 1, 1 }, (const float[]){ 2 });
    tg_tensor *y = tg_tanh(g, c);
    ck_assert_int_eq(tg_backward(g, y), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "does not depend on any parameter");
    tg_graph_free(g);
}
END_TEST

/* ---- hooks ------------------------------------------------------------------------------- */
typedef struct {
    int calls;
    long steps[8];
    float first[8];
    tg_status ret;
} spy;

static tg_status spy_fn(const tg_tensor *t, int when, const float *v, long step, long epoch,
                        void *user)
{
    spy *s = user;
    (void)t;
    (void)when;
    (void)epoch;
    if (s->calls < 8) {
        s->steps[s->calls] = step;
        s->first[s->calls] = v[0];
    }
    s->calls++;
    return s->ret;
}

START_TEST(test_tape_hooks_fire_per_step)
{
    net n;
    spy val = { 0 }, grd = { 0 };
    int id_v, id_g, step;
    net_build(&n);
    ck_assert_int_eq(tg_hook_add(n.y, TG_ON_VALUE, spy_fn, &val, &id_v), TG_OK);
    ck_assert_int_eq(tg_hook_add(n.w, TG_ON_GRAD, spy_fn, &grd, &id_g), TG_OK);
    for (step = 0; step < 3; ++step) {
        tg_graph_set_step(n.g, step, 0);
        ck_assert_int_eq(tg_graph_forward(n.g), TG_OK);
        ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
        ck_assert_float_eq(val.first[step], n.y->data[0]);
        ck_assert_float_eq(grd.first[step], n.w->grad[0]);
    }
    ck_assert_int_eq(val.calls, 3);
    ck_assert_int_eq(grd.calls, 3);
    ck_assert_int_eq(val.steps[2], 2);
    ck_assert_int_eq(tg_hook_remove(n.y, id_v), TG_OK);
    ck_assert_int_eq(tg_graph_forward(n.g), TG_OK);
    ck_assert_int_eq(val.calls, 3);
    ck_assert_int_eq(tg_hook_remove(n.y, id_v), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "removed already?");
    tg_graph_free(n.g); /* frees the remaining grad hook */
}
END_TEST

START_TEST(test_tape_hook_intermediate_grad)
{
    net n;
    spy s = { 0 };
    double dw[6], db[2], dx[6];
    net_build(&n);
    ck_assert_int_eq(tg_hook_add(n.z, TG_ON_GRAD, spy_fn, &s, NULL), TG_OK);
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_OK);
    ref(n.x->data, n.w->data, n.b->data, dw, db, dx);
    ck_assert_int_eq(s.calls, 1);
    /* dL/dz[0,0] = 1 - y00^2 */
    ck_assert_double_eq_tol(s.first[0], 1 - n.y->data[0] * n.y->data[0], 1e-6);
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_hook_error_stops_step)
{
    net n;
    spy s = { 0 };
    net_build(&n);
    s.ret = TG_ERR_RANGE;
    ck_assert_int_eq(tg_hook_add(n.z, TG_ON_VALUE, spy_fn, &s, NULL), TG_OK);
    ck_assert_int_eq(tg_graph_forward(n.g), TG_ERR_RANGE);
    ck_assert_error(TG_ERR_RANGE, "hook");
    ck_assert_int_eq(tg_backward(n.g, n.loss), TG_ERR_STATE); /* the forward did not finish */
    tg_graph_free(n.g);
}
END_TEST

START_TEST(test_tape_hook_errors)
{
    net n;
    spy s = { 0 };
    net_build(&n);
    ck_assert_int_eq(tg_hook_add(n.w, TG_ON_VALUE, NULL, &s, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "callback is NULL");
    ck_assert_int_eq(tg_hook_add(NULL, TG_ON_VALUE, spy_fn, &s, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_hook_add(n.w, 0, spy_fn, &s, NULL), TG_ERR_ARG);
    ck_assert_int_eq(tg_hook_add(n.x, TG_ON_GRAD, spy_fn, &s, NULL), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "no gradient to watch");
    ck_assert_int_eq(tg_hook_remove(n.w, 12345), TG_ERR_STATE);
    tg_graph_free(n.g);
}
END_TEST

Suite *suite_tape(void)
{
    Suite *s = suite_create("tape");
    TCase *tc = tcase_create("forward");
    tcase_add_test(tc, test_tape_records_and_computes_at_once);
    tcase_add_test(tc, test_tape_replay_with_new_data);
    tcase_add_test(tc, test_tape_forward_to);
    suite_add_tcase(s, tc);
    tc = tcase_create("backward");
    tcase_add_test(tc, test_tape_backward_matches_reference);
    tcase_add_test(tc, test_tape_backward_twice_identical);
    tcase_add_test(tc, test_tape_input_grad_on_request);
    tcase_add_test(tc, test_tape_backward_recomputes_from_zero);
    tcase_add_test(tc, test_tape_accumulates_two_paths);
    tcase_add_test(tc, test_tape_unreached_gets_zero);
    tcase_add_test(tc, test_tape_zero_grad);
    tcase_add_test(tc, test_tape_backward_seed);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_tape_backward_state_errors);
    tcase_add_test(tc, test_tape_backward_from_constant);
    suite_add_tcase(s, tc);
    tc = tcase_create("hooks");
    tcase_add_test(tc, test_tape_hooks_fire_per_step);
    tcase_add_test(tc, test_tape_hook_intermediate_grad);
    tcase_add_test(tc, test_tape_hook_error_stops_step);
    tcase_add_test(tc, test_tape_hook_errors);
    suite_add_tcase(s, tc);
    return s;
}
