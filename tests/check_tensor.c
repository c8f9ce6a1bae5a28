/*
 * check_tensor.c -- creating tensors of each kind, shapes, names, binding caller storage,
 * and the shape errors (rank, zero/negative dims, overflow).
 */
#include <stdint.h>
#include "tests.h"

START_TEST(test_tensor_kinds)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, (const int[]){ 3, 4 });
    tg_tensor *w = tg_param(g, "w", 2, (const int[]){ 5, 4 });
    tg_tensor *c = tg_const(g, "c", 1, (const int[]){ 2 }, (const float[]){ 1.5f, -2.0f });
    tg_tensor *s = tg_scalar(g, 0.25f);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(x->kind, TG_INPUT);
    ck_assert_int_eq(x->rank, 2);
    ck_assert_uint_eq(x->size, 12);
    ck_assert_int_eq(x->requires_grad, 0);
    ck_assert_int_eq(w->kind, TG_PARAM);
    ck_assert_int_eq(w->requires_grad, 1);
    ck_assert_float_eq(c->data[0], 1.5f);
    ck_assert_float_eq(c->data[1], -2.0f);
    ck_assert_int_eq(c->requires_grad, 0);
    ck_assert_int_eq(s->rank, 0);
    ck_assert_uint_eq(s->size, 1);
    ck_assert_float_eq(s->data[0], 0.25f);
    ck_assert_str_eq(x->name, "x");
    ck_assert_int_eq(tg_graph_n_tensors(g), 4);
    ck_assert_ptr_eq(tg_graph_tensor(g, 1), w);
    ck_assert_ptr_eq(tg_graph_find(g, "c"), c);
    ck_assert_ptr_null(tg_graph_find(g, "nope"));
    ck_assert_str_eq(tg_kind_name(TG_CONST), "const");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_values_start_at_zero)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 3, (const int[]){ 2, 3, 4 });
    size_t i;
    for (i = 0; i < x->size; ++i)
        ck_assert_float_eq(x->data[i], 0.0f);
    ck_assert_ptr_null(x->grad);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_shape_str)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 4, (const int[]){ 30, 1, 28, 28 });
    char buf[64], tiny[4];
    ck_assert_str_eq(tg_shape_str(x, buf, sizeof buf), "[30,1,28,28]");
    ck_assert_str_eq(tg_shape_str(tg_scalar(g, 1), buf, sizeof buf), "[]");
    tg_shape_str(x, tiny, sizeof tiny);
    ck_assert_uint_eq(strlen(tiny), 3); /* truncated, still terminated */
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_bind_borrows)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 1, (const int[]){ 3 });
    float mine[3] = { 1, 2, 3 };
    float *own = x->data;
    ck_assert_int_eq(tg_tensor_bind(x, mine), TG_OK);
    ck_assert_ptr_eq(x->data, mine);
    ck_assert_int_eq(tg_tensor_bind(x, NULL), TG_OK);
    ck_assert_ptr_eq(x->data, own);
    ck_assert_int_eq(tg_tensor_set(x, mine, 3), TG_OK);
    ck_assert_float_eq(x->data[2], 3.0f);
    ck_assert_float_eq(mine[2], 3.0f); /* set copies; the caller's array is untouched */
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_param_bound)
{
    tg_graph *g = tg_graph_new();
    float w[3] = { 1, -2, 3 }, dw[3] = { 9, 9, 9 }, v[2] = { 0.5f, 0 };
    tg_tensor *p = tg_param_bound(g, "w", 1, (const int[]){ 3 }, w, dw);
    tg_tensor *q = tg_param_bound(g, "v", 1, (const int[]){ 2 }, v, NULL);
    tg_tensor *loss;
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(p->data, w);
    ck_assert_ptr_eq(p->grad, dw);
    ck_assert_ptr_null(p->own_data);   /* no storage of its own */
    ck_assert_int_eq(p->requires_grad, 1);
    ck_assert_ptr_null(q->grad);       /* made by the first backward */
    /* loss = sum(w*w) + sum(v*v): dw = 2w written into the lent block, dv into the graph's */
    loss = tg_add(g, tg_sum(g, tg_mul(g, p, p)), tg_sum(g, tg_mul(g, q, q)));
    ck_assert_float_eq(loss->data[0], 14.25f);
    ck_assert_int_eq(tg_backward(g, loss), TG_OK);
    ck_assert_float_eq(dw[0], 2.0f);
    ck_assert_float_eq(dw[1], -4.0f);
    ck_assert_float_eq(dw[2], 6.0f);
    ck_assert_ptr_nonnull(q->grad);
    ck_assert_float_eq(q->grad[0], 1.0f);
    ck_assert_ptr_null(q->own_data);
    /* nothing of its own to go back to; other storage is fine */
    ck_assert_int_eq(tg_tensor_bind(p, NULL), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "tensor_bind: 'w' [3] was created bound");
    ck_assert_ptr_eq(p->data, w);
    ck_assert_ptr_null(tg_param_bound(g, "u", 1, (const int[]){ 2 }, NULL, NULL));
    ck_assert_error(TG_ERR_ARG, "param_bound: data is NULL for 'u'");
    ck_assert_ptr_null(tg_param_bound(g, "u", 1, (const int[]){ 0 }, w, NULL));
    ck_assert_error(TG_ERR_SHAPE, "param_bound: dim 0 is 0");
    tg_graph_free(g);
    ck_assert_float_eq(w[2], 3.0f);    /* lent storage outlives the graph, untouched */
}
END_TEST

START_TEST(test_tensor_set_wrong_count)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, (const int[]){ 2, 3 });
    float v[5] = { 0 };
    ck_assert_int_eq(tg_tensor_set(x, v, 5), TG_ERR_SHAPE);
    ck_assert_error(TG_ERR_SHAPE, "5 values for 'x' [2,3] of 6 elements");
    ck_assert_int_eq(tg_tensor_set(x, NULL, 6), TG_ERR_ARG);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_rank_too_big)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_input(g, "x", 5, (const int[]){ 1, 1, 1, 1, 1 }));
    ck_assert_error(TG_ERR_SHAPE, "rank 5 outside 0..4");
    ck_assert_ptr_null(tg_input(g, "x", -1, NULL));
    ck_assert_error(TG_ERR_SHAPE, "rank -1");
    ck_assert_int_eq(tg_graph_n_tensors(g), 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_zero_and_negative_dims)
{
    tg_graph *g = tg_graph_new();
    ck_assert_ptr_null(tg_input(g, "x", 2, (const int[]){ 0, 10 }));
    ck_assert_error(TG_ERR_SHAPE, "dim 0 is 0");
    ck_assert_ptr_null(tg_param(g, "w", 2, (const int[]){ 3, -2 }));
    ck_assert_error(TG_ERR_SHAPE, "dim 1 is -2");
    ck_assert_ptr_null(tg_input(g, "x", 2, NULL));
    ck_assert_error(TG_ERR_ARG, "dims is NULL");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_size_overflow)
{
    tg_graph *g = tg_graph_new();
    int big = 1 << 30;
    ck_assert_ptr_null(tg_input(g, "x", 4, (const int[]){ big, big, big, big }));
    ck_assert_error(TG_ERR_OVERFLOW, "element count overflows");
    ck_assert_int_eq(tg_graph_n_tensors(g), 0);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_requires_grad_rules)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, (const int[]){ 2, 2 });
    tg_tensor *c = tg_const(g, "c", 2, (const int[]){ 2, 2 }, NULL);
    tg_tensor *w = tg_param(g, "w", 2, (const int[]){ 2, 2 });
    ck_assert_int_eq(tg_tensor_requires_grad(c), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "only inputs can be given a gradient");
    ck_assert_ptr_nonnull(tg_matmul(g, x, w, 0, 0));
    ck_assert_int_eq(tg_tensor_requires_grad(x), TG_ERR_STATE);
    ck_assert_error(TG_ERR_STATE, "already used by op 'matmul'");
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_bind_intermediate_refused)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, "x", 2, (const int[]){ 2, 2 });
    tg_tensor *y = tg_tanh(g, x);
    float buf[4];
    ck_assert_int_eq(tg_tensor_bind(y, buf), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "is an op output");
    ck_assert_int_eq(tg_tensor_bind_grad(x, buf), TG_ERR_ARG);
    ck_assert_error(TG_ERR_ARG, "'x' [2,2] has no gradient");
    ck_assert_int_eq(tg_tensor_bind(NULL, buf), TG_ERR_ARG);
    tg_graph_free(g);
}
END_TEST

START_TEST(test_tensor_rename)
{
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_input(g, NULL, 1, (const int[]){ 2 });
    char name[8] = "first";
    ck_assert_str_eq(x->name, "");
    ck_assert_int_eq(tg_tensor_set_name(x, name), TG_OK);
    name[0] = 'X'; /* the graph keeps its own copy */
    ck_assert_str_eq(x->name, "first");
    tg_graph_free(g);
}
END_TEST

Suite *suite_tensor(void)
{
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("create");
    tcase_add_test(tc, test_tensor_kinds);
    tcase_add_test(tc, test_tensor_values_start_at_zero);
    tcase_add_test(tc, test_tensor_shape_str);
    tcase_add_test(tc, test_tensor_bind_borrows);
    tcase_add_test(tc, test_tensor_param_bound);
    tcase_add_test(tc, test_tensor_rename);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_tensor_set_wrong_count);
    tcase_add_test(tc, test_tensor_rank_too_big);
    tcase_add_test(tc, test_tensor_zero_and_negative_dims);
    tcase_add_test(tc, test_tensor_size_overflow);
    tcase_add_test(tc, test_tensor_requires_grad_rules);
    tcase_add_test(tc, test_tensor_bind_intermediate_refused);
    suite_add_tcase(s, tc);
    return s;
}
