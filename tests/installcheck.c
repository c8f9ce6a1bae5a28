/* installcheck.c -- built against the INSTALLED library with pkg-config by make installcheck. */
#include <stdio.h>
#include <tapegrad.h>
int main(void) {
    tg_graph *g = tg_graph_new();
    tg_tensor *x = tg_param(g, "x", 1, (const int[]){ 3 });
    tg_tensor *y = tg_sum(g, tg_square(g, x));
    x->data[0] = 1; x->data[1] = 2; x->data[2] = 3;
    if (tg_graph_forward(g) || tg_backward(g, y)) { fprintf(stderr, "%s\n", tg_last_error()); return 1; }
    printf("tapegrad %s: sum(x^2) = %g, grad = %g %g %g\n", tg_version(), y->data[0], x->grad[0], x->grad[1], x->grad[2]);
    tg_graph_free(g);
    return 0;
}
