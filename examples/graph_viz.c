/* graph_viz.c -- placeholder until its issue work lands. */
int main(void) { return 0; }
