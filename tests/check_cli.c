/*
 * check_cli.c -- the tapegrad command, run as a program (TG_CLI, set by make check): exit
 * codes and one-line messages for bad usage and bad specs (JSON syntax with line and column,
 * unknown keys, unknown names, bad ranges, wrong types), missing data; a short training run on
 * the real digits in TG_SHARED_DATA/mnist-10k and its run directory (summary.json parsed back,
 * params.tgp loaded into a net built here, graph.dot, graph.svg); eval agreeing with the
 * summary; --save-init/--init-params; the example specs; graph -o x.png; monitors from
 * --monitor and the spec's "monitors" list (CSVs checked against the summary and against
 * each other, plots, the diagnosis, the coloured graph, the samples kept after a failure);
 * SIGINT and SIGTERM during training (exit 130 and 143, the outputs of the steps done, equal
 * to those of a run asked for that many steps) and a second SIGINT while they are written.
 * Specs are written with ' for " to keep them readable here.
 */
#define _GNU_SOURCE   /* posix_openpt, ptsname */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "config.h"
#include "tests.h"

#ifdef TG_TEST_CLI   /* set by Makefile.am when jansson (and so the command) is there */
#include <jansson.h>

static char out_buf[1 << 16], err_buf[1 << 16];  /* the last run's stdout and stderr */

static const char *cli(void)
{
    const char *c = getenv("TG_CLI");
    c = c && *c ? c : "./tapegrad";
    ck_assert_msg(access(c, X_OK) == 0, "the command %s is not built (set TG_CLI)", c);
    return c;
}

/* test_tmpdir()/cli/name, the directory made if missing. */
static const char *tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/cli", test_tmpdir());
    mkdir(buf, 0777);
    snprintf(buf, n, "%s/cli/%s", test_tmpdir(), name);
    return buf;
}

static const char *mnist(void)
{
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/mnist-10k", test_shared_data());
    ck_assert_msg(access(dir, R_OK) == 0, "real digits missing: %s (set TG_SHARED_DATA)", dir);
    return dir;
}

static void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t len = f ? fread(buf, 1, n - 1, f) : 0;
    buf[len] = '\0';
    if (f)
        fclose(f);
}

/* Start the command with args (NULL-terminated, without argv[0]) in directory cwd (NULL:
 * ours), its stdout into the file so and its stderr onto descriptor err. SIGINT and SIGTERM
 * get their default action and no signal is blocked, whatever the tests were started with. */
static pid_t spawn(const char *cwd, const char *const *args, const char *so, int err)
{
    const char *argv[32], *lsan;
    int n = 0;
    pid_t pid;
    argv[n++] = cli();
    while (*args && n < 31)
        argv[n++] = *args++;
    argv[n] = NULL;
    lsan = getenv("LSAN_OPTIONS");
    if (lsan && !strstr(lsan, "print_suppressions")) {
        /* the command's stderr is under test: no LeakSanitizer suppression statistics */
        char opts[1024];
        snprintf(opts, sizeof opts, "%s:print_suppressions=0", lsan);
        setenv("LSAN_OPTIONS", opts, 1);
    }
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fo = open(so, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        sigset_t none;
        sigemptyset(&none);
        if (fo < 0 || dup2(fo, 1) < 0 || dup2(err, 2) < 0 || (cwd && chdir(cwd)) ||
            signal(SIGINT, SIG_DFL) == SIG_ERR || signal(SIGTERM, SIG_DFL) == SIG_ERR ||
            sigprocmask(SIG_SETMASK, &none, NULL))
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Wait for pid; its exit status, or 128 + the signal that killed it (*killed set to 1). */
static int wait_status(pid_t pid, int *killed)
{
    int st = 0;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) || WIFSIGNALED(st), "odd wait status %d", st);
    if (killed)
        *killed = WIFSIGNALED(st);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The file for a run's stdout (which is read back into out_buf). */
static const char *stdout_path(char *buf, size_t n)
{
    char name[64];
    snprintf(name, sizeof name, "stdout.%d", (int)getpid());
    return tmp_path(buf, n, name);
}

/* Run the command with args (NULL-terminated, without argv[0]) in directory cwd (NULL: ours);
 * stdout and stderr land in out_buf and err_buf. Returns the exit status (128 + signal). */
static int run_in(const char *cwd, const char *const *args)
{
    char so[PATH_MAX], se[PATH_MAX], name[64];
    int fe, rc;
    pid_t pid;
    stdout_path(so, sizeof so);
    snprintf(name, sizeof name, "stderr.%d", (int)getpid());
    tmp_path(se, sizeof se, name);
    fe = open(se, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ck_assert_int_ge(fe, 0);
    pid = spawn(cwd, args, so, fe);
    close(fe);
    rc = wait_status(pid, NULL);
    slurp(so, out_buf, sizeof out_buf);
    slurp(se, err_buf, sizeof err_buf);
    unlink(so);
    unlink(se);
    return rc;
}
#define RUN(...) run_in(NULL, (const char *const[]){ __VA_ARGS__, NULL })

/* Write text to tmp dir/name with every ' turned into ", and return the path in buf. */
static const char *write_spec(char *buf, size_t n, const char *name, const char *text)
{
    FILE *f = fopen(tmp_path(buf, n, name), "w");
    const char *c;
    ck_assert_ptr_nonnull(f);
    for (c = text; *c; ++c)
        fputc(*c == '\'' ? '"' : *c, f);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* stderr is exactly one line starting "tapegrad: " and holding needle. */
#define ck_assert_one_line(needle)                                                         \
    do {                                                                                   \
        ck_assert_msg(!strncmp(err_buf, "tapegrad: ", 10), "stderr: %s", err_buf);         \
        ck_assert_msg(strchr(err_buf, '\n') == err_buf + strlen(err_buf) - 1,              \
                      "not one line: %s", err_buf);                                        \
        ck_assert_msg(strstr(err_buf, (needle)) != NULL, "stderr \"%s\" lacks \"%s\"",     \
                      err_buf, (needle));                                                  \
    } while (0)

/* A 784-16-10 net. */
#define TINY_LAYERS                                                                        \
    "'layers': [784, {'n_nodes': 16, 'activation': 'tanh', 'init_weight_lower': -0.05, "   \
    "'init_weight_upper': 0.05}, {'n_nodes': 10, 'activation': 'identity', "               \
    "'weight_init': 'glorot_uniform', 'bias_init': 'zeros'}]"
#define TINY_REST                                                                          \
    "'loss': 'softmax_cross_entropy_sum', 'optimizer': {'name': 'sgd', 'learning_rate': "  \
    "0.01}, 'data': {'repeat': 1, 'batch': 30, 'shuffle': true, 'center': true}, 'seed': 3"
static const char tiny_spec[] = "{'name': 'tiny', " TINY_LAYERS ", " TINY_REST "}";

/* A spec that must be refused: exit 2 and one line "tapegrad: PATH..." holding needle. */
static void expect_spec_error(const char *text, const char *needle)
{
    char spec[PATH_MAX], want[PATH_MAX + 32];
    write_spec(spec, sizeof spec, "bad.json", text);
    ck_assert_int_eq(RUN("train", spec, "--data", mnist(), "--quiet"), 2);
    snprintf(want, sizeof want, "tapegrad: %s", spec);
    ck_assert_msg(!strncmp(err_buf, want, strlen(want)), "stderr \"%s\" lacks the path",
                  err_buf);
    ck_assert_one_line(needle);
    ck_assert_str_eq(out_buf, "");
}

/* ---- usage ---------------------------------------------------------------------------- */
START_TEST(test_cli_usage)
{
    ck_assert_int_eq(RUN("--help"), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "train SPEC"));
    ck_assert_ptr_nonnull(strstr(out_buf, "graph SPEC"));
    ck_assert_int_eq(run_in(NULL, (const char *const[]){ NULL }), 2);
    ck_assert_ptr_nonnull(strstr(err_buf, "Usage: tapegrad COMMAND"));
    ck_assert_str_eq(out_buf, "");
}
END_TEST

START_TEST(test_cli_version)
{
    char want[64];
    snprintf(want, sizeof want, "tapegrad %s\n", tg_version());
    ck_assert_int_eq(RUN("--version"), 0);
    ck_assert_str_eq(out_buf, want);
    ck_assert_str_eq(err_buf, "");
}
END_TEST

START_TEST(test_cli_help_command)
{
    ck_assert_int_eq(RUN("help", "train"), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "Usage: tapegrad train SPEC"));
    ck_assert_ptr_nonnull(strstr(out_buf, "--init-params FILE"));
    ck_assert_int_eq(RUN("eval", "--help"), 0);
    ck_assert_ptr_nonnull(strstr(out_buf, "--params FILE"));
    ck_assert_int_eq(RUN("help", "fly"), 2);
    ck_assert_one_line("unknown command 'fly' (commands: train, eval, graph, help)");
}
END_TEST

START_TEST(test_cli_unknown_command)
{
    ck_assert_int_eq(RUN("trian", "x.json"), 2);
    ck_assert_one_line("tapegrad: unknown command 'trian'");
}
END_TEST

START_TEST(test_cli_bad_options)
{
    ck_assert_int_eq(RUN("train", "x.json", "--bogus"), 2);
    ck_assert_one_line("train: unknown option '--bogus' (see 'tapegrad help train')");
    ck_assert_int_eq(RUN("train", "x.json", "--epochs"), 2);
    ck_assert_one_line("train: option '--epochs' needs an argument");
    ck_assert_int_eq(RUN("train", "x.json", "--epochs", "3x"), 2);
    ck_assert_one_line("--epochs: '3x' is not an integer in 1..");
    ck_assert_int_eq(RUN("train", "x.json", "--lr", "-0.1"), 2);
    ck_assert_one_line("--lr: '-0.1' is not a number > 0");
    ck_assert_int_eq(RUN("eval", "x.json", "--out", "d"), 2);  /* a train-only option */
    ck_assert_one_line("eval: unknown option '--out'");
    ck_assert_int_eq(RUN("train", "--quiet"), 2);
    ck_assert_one_line("train: no SPEC given");
    ck_assert_int_eq(RUN("train", "a.json", "b.json"), 2);
    ck_assert_one_line("train: one SPEC expected, got 'a.json' and 'b.json'");
    ck_assert_int_eq(RUN("eval", "x.json"), 2);
    ck_assert_one_line("eval: no --params FILE given");
}
END_TEST

/* ---- specs ---------------------------------------------------------------------------- */
START_TEST(test_spec_missing_file)
{
    char spec[PATH_MAX];
    tmp_path(spec, sizeof spec, "no-such-spec.json");
    ck_assert_int_eq(RUN("train", spec), 2);
    ck_assert_one_line("no-such-spec.json: unable to open");
    ck_assert_one_line("No such file or directory");
}
END_TEST

START_TEST(test_spec_syntax_error)
{
    char spec[PATH_MAX], want[PATH_MAX + 32];
    /* the stray '}' is on line 3, column 20 */
    write_spec(spec, sizeof spec, "syntax.json",
               "{\n  'layers': [784,\n    {'n_nodes': 10,}]\n}\n");
    ck_assert_int_eq(RUN("graph", spec, "-o", "x.dot"), 2);
    snprintf(want, sizeof want, "tapegrad: %s:3:20: ", spec);
    ck_assert_msg(!strncmp(err_buf, want, strlen(want)), "\"%s\" does not start \"%s\"",
                  err_buf, want);
    ck_assert_one_line("expected");
}
END_TEST

START_TEST(test_spec_unknown_key)
{
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'dat': {}}",
                      ": unknown key \"dat\" (known: name, description, layers, loss, "
                      "optimizer, data, seed, monitors)");
    expect_spec_error("{'layers': [784, {'n_node': 10}], " TINY_REST "}",
                      ": layers[1]: unknown key \"n_node\" (known: n_nodes, activation,");
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'monitors': [{'type': 'norm', "
                      "'every': 10}]}", ": monitors[0]: unknown key \"every\"");
}
END_TEST

START_TEST(test_spec_unknown_names)
{
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'identity', "
                      "'weight_init': 'zeros'}, {'n_nodes': 10, 'activation': 'tanhh', "
                      "'weight_init': 'zeros'}], " TINY_REST "}",
                      ": layers[2].activation: unknown activation \"tanhh\" (known: tanh, "
                      "sigmoid, relu, leaky_relu, elu, softplus, softsign, identity");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'relu', "
                      "'weight_init': 'he_normall'}], " TINY_REST "}",
                      ": layers[1].weight_init: unknown initialiser \"he_normall\" (known: "
                      "uniform, zeros,");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'xent', 'optimizer': {'name': 'sgd', "
                      "'learning_rate': 0.1}}", ": loss: unknown loss 'xent' (known: "
                      "softmax_cross_entropy_sum,");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'adamw', "
                      "'learning_rate': 0.1}}", ": optimizer.name: unknown optimizer "
                      "\"adamw\" (known: sgd, momentum, nesterov, adam, rmsprop)");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'sgd', "
                      "'learning_rate': 0.1, 'schedule': {'type': 'cosine'}}}",
                      ": optimizer.schedule.type: unknown schedule \"cosine\"");
}
END_TEST

START_TEST(test_spec_activation_alpha)
{
    char spec[PATH_MAX], dot[PATH_MAX], text[1 << 16];
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': {'name': 'tanh', "
                      "'alpha': 0.1}, 'weight_init': 'zeros'}], " TINY_REST "}",
                      ": layers[1].activation: \"tanh\" takes no alpha");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': {'name': 'elu', "
                      "'beta': 0.1}, 'weight_init': 'zeros'}], " TINY_REST "}",
                      ": layers[1].activation: unknown key \"beta\" (known: name, alpha)");
    write_spec(spec, sizeof spec, "alpha.json", "{'layers': [784, {'n_nodes': 10, "
               "'activation': {'name': 'leaky_relu', 'alpha': 0.2}, 'weight_init': "
               "'he_normal'}, {'n_nodes': 10, 'activation': 'linear', 'weight_init': "
               "{'name': 'normal', 'std': 0.01}}], " TINY_REST "}");
    tmp_path(dot, sizeof dot, "alpha.dot");
    ck_assert_msg(RUN("graph", spec, "-o", dot) == 0, "%s", err_buf);
    slurp(dot, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "leaky_relu"));
    ck_assert_ptr_nonnull(strstr(text, "identity"));  /* linear is identity */
}
END_TEST

START_TEST(test_spec_bad_init)
{
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh', "
                      "'init_weight_lower': 0.5, 'init_weight_upper': 0.1}], " TINY_REST "}",
                      ": layers[1]: init_weight_lower 0.5 > init_weight_upper 0.1");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh', "
                      "'init_weight_lower': -0.1}], " TINY_REST "}",
                      ": layers[1]: missing key \"init_weight_upper\"");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh'}], " TINY_REST
                      "}", ": layers[1]: no weight initialiser");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh', 'weight_init': "
                      "'he_normal', 'init_weight_lower': -1, 'init_weight_upper': 1}], "
                      TINY_REST "}", ": layers[1]: give either init_weight_lower/"
                      "init_weight_upper or weight_init, not both");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh', 'weight_init': "
                      "'normal'}], " TINY_REST "}", ": layers[1].weight_init: \"normal\" needs "
                      "parameters: {\"name\": \"normal\", \"mean\": ..., \"std\": ...}");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh', 'weight_init': "
                      "{'name': 'normal', 'std': -0.5}}], " TINY_REST "}",
                      ": layers[1].weight_init: init_weight_std is -0.5");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh', 'weight_init': "
                      "{'name': 'glorot_uniform', 'gain': 0}}], " TINY_REST "}",
                      ": layers[1].weight_init.gain: 0 (must be > 0)");
    expect_spec_error("{'layers': [784, {'n_nodes': 10, 'activation': 'tanh', 'weight_init': "
                      "{'name': 'glorot_uniform', 'std': 1}}], " TINY_REST "}",
                      ": layers[1].weight_init: unknown key \"std\" (known: name, gain)");
}
END_TEST

START_TEST(test_spec_wrong_types)
{
    expect_spec_error("{'layers': [784, {'n_nodes': '10', 'activation': 'tanh'}], " TINY_REST
                      "}", ": layers[1].n_nodes: expected an integer, got a string");
    expect_spec_error("{'layers': [784, {'n_nodes': 0, 'activation': 'tanh'}], " TINY_REST
                      "}", ": layers[1].n_nodes: 0 is out of range (1..");
    expect_spec_error("{'layers': [784.5, {'n_nodes': 10}], " TINY_REST "}",
                      ": layers[0]: expected the input width (an integer), got a number");
    expect_spec_error("{'layers': [784], " TINY_REST "}", ": layers: needs the input width and "
                      "at least one layer, got 1 element");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'sgd', "
                      "'learning_rate': 0.1}, 'data': {'batch': '30'}}",
                      ": data.batch: expected an integer, got a string");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'sgd', "
                      "'learning_rate': 0.1}, 'data': {'shuffle': 1}}",
                      ": data.shuffle: expected true or false, got an integer");
    expect_spec_error("[784, 10]", ": expected a JSON object {\"layers\": ...}, got an array");
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'seed': 1, 'seed': 2}",
                      "duplicate object key");
}
END_TEST

START_TEST(test_spec_bad_optimizer)
{
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'sgd', "
                      "'learning_rate': -1}}", ": optimizer: optim sgd: lr -1 (must be finite "
                      "and > 0)");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'sgd', "
                      "'learning_rate': 0.1, 'beta1': 0.9}}", ": optimizer: unknown key "
                      "\"beta1\" (known: name, learning_rate, schedule, clip_norm)");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'adam', "
                      "'learning_rate': 0.1, 'beta1': 1.5}}", ": optimizer: optim adam: beta1 "
                      "1.5 outside [0,1)");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse', 'optimizer': {'name': 'sgd', "
                      "'learning_rate': 0.1, 'schedule': {'type': 'step', 'gamma': 0.5}}}",
                      ": optimizer.schedule: missing key \"step_size\"");
    expect_spec_error("{" TINY_LAYERS ", 'loss': 'mse'}", ": missing key \"optimizer\"");
}
END_TEST

START_TEST(test_spec_monitors_parsed)
{
    char spec[PATH_MAX], dot[PATH_MAX];
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'monitors': [{'type': 'norm'}]}",
                      ": monitors[0].type: unknown monitor type \"norm\" (known: loss, "
                      "gradient, grad, gradient_norm, grad_norm, gradnorm, weight, weights, "
                      "activation, activations)");
    /* layers are the builder's: 0 = first, -1 = output; the tiny net has two */
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'monitors': [{'type': 'gradient', "
                      "'layer': 2}]}", ": monitors[0].layer: 2 is out of range (-2..1)");
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'monitors': [{'type': 'weights', "
                      "'layer': -3}]}", ": monitors[0].layer: -3 is out of range (-2..1)");
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'monitors': [{'period': 0, "
                      "'type': 'loss'}]}", ": monitors[0].period: 0 is out of range (1..");
    expect_spec_error("{" TINY_LAYERS ", " TINY_REST ", 'monitors': [{'type': 'loss', "
                      "'layer': 0}]}", ": monitors[0].layer: the loss monitor takes no layer");
    write_spec(spec, sizeof spec, "mon.json", "{" TINY_LAYERS ", " TINY_REST ", 'monitors': "
               "[{'type': 'grad_norm', 'period': 10, 'layer': 1}, {'type': 'activations'}]}");
    ck_assert_int_eq(RUN("graph", spec, "-o", tmp_path(dot, sizeof dot, "mon.dot")), 0);
    ck_assert_str_eq(err_buf, "");
}
END_TEST

/* Every example spec builds, with the study's layer shapes. */
START_TEST(test_examples_build)
{
    static const struct { const char *name, *first, *last; int n_w; } ex[] = {
        { "wide-2", "w1 [2048,784]", "w3 [10,2048]", 3 },
        { "mid-4", "w1 [256,784]", "w5 [10,256]", 5 },
        { "deep-16", "w1 [64,784]", "w17 [10,64]", 17 },
        { "relu-10", "w1 [64,784]", "w11 [10,64]", 11 },
        { "wide-2-glorot", "w1 [2048,784]", "w3 [10,2048]", 3 },
        { "mid-4-glorot", "w1 [256,784]", "w5 [10,256]", 5 },
        { "deep-16-glorot", "w1 [64,784]", "w17 [10,64]", 17 },
        { "relu-10-he", "w1 [64,784]", "w11 [10,64]", 11 },
    };
    const char *src = getenv("TG_SRCDIR");
    char spec[PATH_MAX], dot[PATH_MAX], text[1 << 16], next[32];
    size_t i;
    for (i = 0; i < sizeof ex / sizeof ex[0]; ++i) {
        snprintf(spec, sizeof spec, "%s/examples/specs/%s.json", src ? src : ".", ex[i].name);
        tmp_path(dot, sizeof dot, "example.dot");
        ck_assert_msg(RUN("graph", spec, "-o", dot) == 0, "%s: %s", ex[i].name, err_buf);
        slurp(dot, text, sizeof text);
        ck_assert_msg(strstr(text, ex[i].first) && strstr(text, ex[i].last), "%s: shapes",
                      ex[i].name);
        snprintf(next, sizeof next, "w%d ", ex[i].n_w + 1);
        ck_assert_msg(!strstr(text, next), "%s has a layer too many", ex[i].name);
        ck_assert_ptr_nonnull(strstr(text, strstr(ex[i].name, "relu") ? "relu" : "tanh"));
        ck_assert_ptr_nonnull(strstr(text, "softmax_xent"));
    }
}
END_TEST

/* ---- data ----------------------------------------------------------------------------- */
START_TEST(test_train_missing_data_dir)
{
    char spec[PATH_MAX], dir[PATH_MAX];
    write_spec(spec, sizeof spec, "tiny.json", tiny_spec);
    tmp_path(dir, sizeof dir, "no-such-data");
    ck_assert_int_eq(RUN("train", spec, "--data", dir, "--quiet"), 2);
    ck_assert_one_line(dir);
    ck_assert_one_line("train-images-idx3-ubyte");
}
END_TEST

START_TEST(test_train_input_width_mismatch)
{
    char spec[PATH_MAX];
    write_spec(spec, sizeof spec, "w100.json", "{'layers': [100, {'n_nodes': 10, "
               "'activation': 'identity', 'weight_init': 'zeros'}], " TINY_REST "}");
    ck_assert_int_eq(RUN("train", spec, "--data", mnist(), "--quiet"), 2);
    ck_assert_one_line(": layers[0]: input width 100, but the records of");
    ck_assert_one_line("have 784 values (28x28)");
}
END_TEST

/* With no --data, data/mnist under the working directory is used, and said so. */
START_TEST(test_train_data_fallback)
{
    char spec[PATH_MAX], dir[PATH_MAX], sub[PATH_MAX + 16];
    write_spec(spec, sizeof spec, "tiny.json", tiny_spec);
    tmp_path(dir, sizeof dir, "fallback");
    mkdir(dir, 0777);
    snprintf(sub, sizeof sub, "%s/data", dir);
    mkdir(sub, 0777);
    snprintf(sub, sizeof sub, "%s/data/mnist", dir);
    unlink(sub);
    ck_assert_int_eq(symlink(mnist(), sub), 0);
    ck_assert_int_eq(run_in(dir, (const char *const[]){ "train", spec, "--steps", "2",
                                                         "--out", "run", NULL }), 0);
    ck_assert_ptr_nonnull(strstr(err_buf, "tapegrad: data: MNIST (data/mnist) (no --data "
                                 "given): 8000 training and 2000 test records of 28x28\n"));
    ck_assert_ptr_null(strchr(err_buf, '\r'));  /* no progress bar: stderr is no terminal */
    ck_assert_ptr_nonnull(strstr(out_buf, "tiny: 1 epoch, 2 steps,"));
}
END_TEST

/* ---- a short run and its outputs (trained once for the TCase) ---------------------------- */
static int run_rc;
static char run_err[sizeof err_buf], run_dir[PATH_MAX], run_spec[PATH_MAX];

static void run_setup(void)
{
    write_spec(run_spec, sizeof run_spec, "run.json", tiny_spec);
    tmp_path(run_dir, sizeof run_dir, "run");
    run_rc = RUN("train", run_spec, "--data", mnist(), "--out", run_dir, "--steps", "20",
                 "--seed", "7", "--quiet");
    snprintf(run_err, sizeof run_err, "%s", err_buf);
}

static json_t *load_summary(const char *dir)
{
    char path[PATH_MAX + 16];
    json_error_t je;
    json_t *j;
    snprintf(path, sizeof path, "%s/summary.json", dir);
    j = json_load_file(path, 0, &je);
    ck_assert_msg(j != NULL, "%s: %s", path, je.text);
    return j;
}

START_TEST(test_run_summary)
{
    json_t *j;
    char tmp[PATH_MAX + 32];
    double acc;
    ck_assert_msg(run_rc == 0, "train exited %d: %s", run_rc, run_err);
    ck_assert_str_eq(run_err, "");  /* --quiet */
    j = load_summary(run_dir);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "steps")), 20);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "epochs")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seed")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "batch")), 30);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "train_records")), 8000);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "test_records")), 2000);
    ck_assert_str_eq(json_string_value(json_object_get(j, "spec")), "tiny");
    ck_assert_str_eq(json_string_value(json_object_get(j, "loss")),
                     "softmax_cross_entropy_sum");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "dataset")),
                                 "mnist-10k"));
    ck_assert(json_is_true(json_object_get(j, "centred")));
    acc = json_real_value(json_object_get(j, "train_accuracy"));
    ck_assert(json_is_real(json_object_get(j, "train_accuracy")) && acc >= 0.0 && acc <= 1.0);
    acc = json_real_value(json_object_get(j, "test_accuracy"));
    ck_assert(json_is_real(json_object_get(j, "test_accuracy")) && acc >= 0.0 && acc <= 1.0);
    /* 20 steps of plain SGD on the digits already beat chance (0.1) clearly */
    ck_assert_msg(acc > 0.3, "test accuracy %g after 20 steps", acc);
    ck_assert(json_real_value(json_object_get(j, "final_loss")) > 0.0);
    ck_assert(json_real_value(json_object_get(j, "test_loss")) > 0.0);
    ck_assert(json_real_value(json_object_get(j, "steps_per_second")) > 0.0);
    ck_assert(json_real_value(json_object_get(j, "wall_seconds")) >=
              json_real_value(json_object_get(j, "train_seconds")));
    /* no monitor asked for: none ran, nothing to diagnose */
    ck_assert(json_is_null(json_object_get(j, "diagnosis")));
    ck_assert(json_is_array(json_object_get(j, "monitors")));
    ck_assert_uint_eq(json_array_size(json_object_get(j, "monitors")), 0);
    json_decref(j);
    snprintf(tmp, sizeof tmp, "%s/summary.json.tmp", run_dir);
    ck_assert_int_ne(access(tmp, F_OK), 0);
    snprintf(tmp, sizeof tmp, "%s/monitors", run_dir);
    ck_assert_int_ne(access(tmp, F_OK), 0);
}
END_TEST

/* A 784-16-10 net built here with the library (zero parameters), with the parameter file at
 * path loaded into it: *s gets tg_params_load's status. */
static tg_net *tiny_net_load(const char *path, tg_status *s)
{
    tg_layer_spec ls[2];
    tg_net *net;
    tg_net_graph *ng;
    tg_tensor *ts[4];
    int l;
    memset(ls, 0, sizeof ls);
    ls[0].n_nodes = 16;
    ls[0].activation = &tg_op_tanh;
    ls[1].n_nodes = 10;
    ls[1].activation = &tg_op_identity;
    for (l = 0; l < 2; ++l) {
        ls[l].weight_init.kind = TG_INIT_ZEROS;
        ls[l].bias_init.kind = TG_INIT_ZEROS;
    }
    net = tg_net_new(784, ls, 2, 1);
    ng = tg_net_graph_new(net, 1, NULL);
    ck_assert_ptr_nonnull(ng);
    for (l = 0; l < 2; ++l) {
        ts[2 * l] = tg_net_graph_layer(ng, l, TG_LAYER_WEIGHT);
        ts[2 * l + 1] = tg_net_graph_layer(ng, l, TG_LAYER_BIAS);
    }
    *s = tg_params_load(path, ts, 4);
    tg_net_graph_free(ng);
    return net;
}

/* params.tgp loads into a 784-16-10 net built here with the library. */
START_TEST(test_run_params)
{
    char path[PATH_MAX + 16];
    tg_status s;
    tg_net *net;
    ck_assert_int_eq(run_rc, 0);
    snprintf(path, sizeof path, "%s/params.tgp", run_dir);
    net = tiny_net_load(path, &s);
    ck_assert_int_eq(s, TG_OK);
    /* trained weights: no longer the zeros of this net, and inside the init range + steps */
    ck_assert(tg_net_weight(net, 0)[0] != 0.0f || tg_net_weight(net, 0)[1] != 0.0f);
    ck_assert(fabsf(tg_net_weight(net, 0)[0]) < 1.0f);
    tg_net_free(net);
}
END_TEST

START_TEST(test_run_graph_files)
{
    char path[PATH_MAX + 16], text[1 << 16];
    ck_assert_int_eq(run_rc, 0);
    snprintf(path, sizeof path, "%s/graph.dot", run_dir);
    slurp(path, text, sizeof text);
    ck_assert_msg(!strncmp(text, "digraph", 7) || !strncmp(text, "strict digraph", 14),
                  "graph.dot starts \"%.20s\"", text);
    ck_assert_ptr_nonnull(strstr(text, "w1 [16,784]"));
    ck_assert_ptr_nonnull(strstr(text, "tiny"));  /* the title */
    snprintf(path, sizeof path, "%s/graph.svg", run_dir);
#ifdef HAVE_GRAPHVIZ
    slurp(path, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "<svg"));
    ck_assert_ptr_nonnull(strstr(text, "</svg>"));
#else
    ck_assert_int_ne(access(path, F_OK), 0);
#endif
}
END_TEST

/* eval prints the test accuracy and loss that train wrote into summary.json. */
START_TEST(test_eval_matches_summary)
{
    char params[PATH_MAX + 16];
    double acc = -1.0, loss = -1.0;
    long n = 0;
    json_t *j;
    ck_assert_int_eq(run_rc, 0);
    snprintf(params, sizeof params, "%s/params.tgp", run_dir);
    ck_assert_msg(RUN("eval", run_spec, "--params", params, "--data", mnist()) == 0, "%s",
                  err_buf);
    ck_assert_int_eq(sscanf(out_buf, "test_records %ld\ntest_loss %lf\ntest_accuracy %lf",
                            &n, &loss, &acc), 3);
    j = load_summary(run_dir);
    ck_assert_int_eq(n, 2000);
    ck_assert_double_eq_tol(acc, json_real_value(json_object_get(j, "test_accuracy")), 1e-9);
    ck_assert_double_eq_tol(loss, json_real_value(json_object_get(j, "test_loss")),
                            1e-8 * loss);
    json_decref(j);
    ck_assert_ptr_nonnull(strstr(err_buf, "tapegrad: data: directory"));
    ck_assert_ptr_nonnull(strstr(err_buf, "centred (subtracted the training mean 0.13"));
}
END_TEST

START_TEST(test_eval_bad_params)
{
    char spec[PATH_MAX], params[PATH_MAX + 16];
    ck_assert_int_eq(run_rc, 0);
    tmp_path(params, sizeof params, "no-such.tgp");
    ck_assert_int_eq(RUN("eval", run_spec, "--params", params, "--data", mnist(), "--quiet"),
                     2);
    ck_assert_one_line(params);
    /* the run's 784-16-10 parameters do not fit a 784-32-10 net */
    write_spec(spec, sizeof spec, "wide.json", "{'layers': [784, {'n_nodes': 32, 'activation': "
               "'tanh', 'weight_init': 'glorot_uniform'}, {'n_nodes': 10, 'activation': "
               "'identity', 'weight_init': 'zeros'}], " TINY_REST "}");
    snprintf(params, sizeof params, "%s/params.tgp", run_dir);
    ck_assert_int_eq(RUN("eval", spec, "--params", params, "--data", mnist(), "--quiet"), 2);
    ck_assert_one_line("w1");
    ck_assert_str_eq(out_buf, "");
}
END_TEST

/* --save-init then --init-params: the same start, file order and one thread give the same
 * trained parameters, byte for byte, whatever the seed. */
/* The params.tgp files of run directories a and b are the same bytes (the run spec's
 * 784-16-10 net: 16*784 + 16 + 10*16 + 10 floats plus the header). */
static void assert_same_params(const char *a, const char *b)
{
    static char ta[1 << 16], tb[1 << 16];
    char pa[PATH_MAX + 16], pb[PATH_MAX + 16];
    size_t na, nb;
    FILE *f;
    snprintf(pa, sizeof pa, "%s/params.tgp", a);
    snprintf(pb, sizeof pb, "%s/params.tgp", b);
    ck_assert_ptr_nonnull(f = fopen(pa, "rb"));
    na = fread(ta, 1, sizeof ta, f);
    fclose(f);
    ck_assert_ptr_nonnull(f = fopen(pb, "rb"));
    nb = fread(tb, 1, sizeof tb, f);
    fclose(f);
    ck_assert_uint_gt(na, (16 * 784 + 16 + 160 + 10) * 4);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(ta, tb, na) == 0);
}

START_TEST(test_train_init_params)
{
    char a[PATH_MAX], b[PATH_MAX], init[PATH_MAX];
    json_t *j;
    ck_assert_int_eq(run_rc, 0);
    tmp_path(a, sizeof a, "run-a");
    tmp_path(b, sizeof b, "run-b");
    tmp_path(init, sizeof init, "init.tgp");
    ck_assert_msg(RUN("train", run_spec, "--data", mnist(), "--out", a, "--steps", "5",
                      "--no-shuffle", "--threads", "1", "--save-init", init, "--quiet") == 0,
                  "%s", err_buf);
    ck_assert_msg(RUN("train", run_spec, "--data", mnist(), "--out", b, "--steps", "5",
                      "--no-shuffle", "--threads", "1", "--init-params", init, "--seed", "99",
                      "--quiet") == 0, "%s", err_buf);
    assert_same_params(a, b);
    j = load_summary(b);
    ck_assert_str_eq(json_string_value(json_object_get(j, "init_params")), init);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "seed")), 99);
    json_decref(j);
}
END_TEST

/* --flush-subnormals reaches tg_train: on real digits (no subnormal anywhere) the parameters
 * are bitwise those of the same run without it; eval does not take it. */
START_TEST(test_train_flush_subnormals)
{
    char a[PATH_MAX], b[PATH_MAX], pa[PATH_MAX + 16];
    json_t *j;
    ck_assert_int_eq(run_rc, 0);
    tmp_path(a, sizeof a, "run-noflush");
    tmp_path(b, sizeof b, "run-flush");
    ck_assert_msg(RUN("train", run_spec, "--data", mnist(), "--out", a, "--steps", "5",
                      "--no-shuffle", "--threads", "1", "--quiet") == 0, "%s", err_buf);
    ck_assert_msg(RUN("train", run_spec, "--data", mnist(), "--out", b, "--steps", "5",
                      "--no-shuffle", "--threads", "1", "--flush-subnormals", "--quiet") == 0,
                  "%s", err_buf);
    j = load_summary(b);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "steps")), 5);
    ck_assert(isfinite(json_real_value(json_object_get(j, "final_loss"))));
    json_decref(j);
    assert_same_params(a, b);
    snprintf(pa, sizeof pa, "%s/params.tgp", a);
    ck_assert_int_eq(RUN("eval", run_spec, "--params", pa, "--flush-subnormals"), 2);
    ck_assert_msg(strstr(err_buf, "flush-subnormals") != NULL, "%s", err_buf);
}
END_TEST

/* On a terminal, train redraws a progress line: bar, percentage, epoch, step, loss, ETA. */
START_TEST(test_train_progress_on_terminal)
{
    char out[PATH_MAX], text[1 << 16];
    const char *argv[] = { cli(), "train", run_spec, "--data", mnist(), "--out", out,
                           "--steps", "20", NULL };
    size_t len = 0;
    ssize_t got;
    int m, st;
    pid_t pid;
    ck_assert_int_eq(run_rc, 0);
    tmp_path(out, sizeof out, "run-tty");
    m = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(m, 0);
    ck_assert_int_eq(grantpt(m), 0);
    ck_assert_int_eq(unlockpt(m), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int t = open(ptsname(m), O_RDWR | O_NOCTTY), null = open("/dev/null", O_WRONLY);
        if (t < 0 || null < 0 || dup2(t, 2) < 0 || dup2(null, 1) < 0)
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* read until the child's end of the terminal is closed (EIO) */
    while (len < sizeof text - 1 && (got = read(m, text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)got;
    text[len] = '\0';
    close(m);
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d: %s", st, text);
    ck_assert_msg(strstr(text, "\r[########################] 100%  epoch 1/1  step 20/20  loss "),
                  "no final progress line in: %s", text);
    ck_assert_ptr_nonnull(strstr(text, " steps/s  ETA 0:00"));
    ck_assert_ptr_nonnull(strstr(text, "tapegrad: data: directory"));
}
END_TEST

START_TEST(test_train_nonfinite_fails)
{
    char spec[PATH_MAX], out[PATH_MAX], sum[PATH_MAX + 16];
    write_spec(spec, sizeof spec, "diverge.json", "{" TINY_LAYERS ", 'loss': "
               "'softmax_cross_entropy_sum', 'optimizer': {'name': 'sgd', 'learning_rate': "
               "1e38}, 'data': {'batch': 30}}");
    tmp_path(out, sizeof out, "run-diverge");
    ck_assert_int_eq(RUN("train", spec, "--data", mnist(), "--out", out, "--steps", "50",
                         "--quiet"), 1);
    ck_assert_one_line("diverge.json: train: step 1 (epoch 0): ");
    ck_assert_one_line("' [30,16] holds ");  /* inf or nan, by the BLAS's order of sums */
    ck_assert_one_line("parameters not updated");
    snprintf(sum, sizeof sum, "%s/summary.json", out);
    ck_assert_int_ne(access(sum, F_OK), 0);
}
END_TEST

START_TEST(test_train_out_not_a_dir)
{
    char file[PATH_MAX], out[PATH_MAX + 16];
    FILE *f = fopen(tmp_path(file, sizeof file, "plain-file"), "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(out, sizeof out, "%s/run", file);
    ck_assert_int_eq(run_rc, 0);
    ck_assert_int_eq(RUN("train", run_spec, "--data", mnist(), "--out", out, "--steps", "1",
                         "--quiet"), 1);
    ck_assert_one_line("cannot create directory '");
    ck_assert_one_line("plain-file/run': Not a directory");
}
END_TEST


/* ---- monitors --------------------------------------------------------------------------- */
/* A monitor CSV read back: rows of step, epoch, unit, value. */
typedef struct csv_rows {
    int n;
    long step[512], epoch[512], unit[512];
    double value[512];
} csv_rows;

/* Read RUNDIR/monitors/name.csv into *c, checking the header. */
static void read_csv(const char *dir, const char *name, csv_rows *c)
{
    char path[PATH_MAX + 64], line[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/monitors/%s.csv", dir, name);
    ck_assert_msg((f = fopen(path, "r")) != NULL, "%s missing", path);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "step,epoch,unit,value\n");
    c->n = 0;
    while (fgets(line, sizeof line, f)) {
        ck_assert_int_lt(c->n, 512);
        ck_assert_msg(sscanf(line, "%ld,%ld,%ld,%lf", &c->step[c->n], &c->epoch[c->n],
                             &c->unit[c->n], &c->value[c->n]) == 4, "%s: bad row %s", path,
                      line);
        c->n++;
    }
    fclose(f);
}

static double csv_mean(const csv_rows *c)
{
    double sum = 0.0;
    int i;
    for (i = 0; i < c->n; ++i)
        sum += c->value[i];
    return sum / c->n;
}

/* The spec's list and the options together: trained once for the TCase. */
static int mon_rc;
static char mon_err[sizeof err_buf], mon_dir[PATH_MAX];

static void mon_setup(void)
{
    char spec[PATH_MAX];
    write_spec(spec, sizeof spec, "mon-run.json", "{'name': 'tiny', " TINY_LAYERS ", "
               TINY_REST ", 'monitors': [{'type': 'gradient', 'period': 5, 'layer': -1}]}");
    tmp_path(mon_dir, sizeof mon_dir, "run-mon");
    mon_rc = RUN("train", spec, "--data", mnist(), "--out", mon_dir, "--steps", "20",
                 "--seed", "7", "--monitor", "loss:1", "--monitor", "gradnorm:5:0");
    snprintf(mon_err, sizeof mon_err, "%s", err_buf);
}

/* The loss every step: 20 rows, the last the batch loss of the run's last step. */
START_TEST(test_monitor_loss_csv)
{
    csv_rows c;
    json_t *j;
    int i;
    ck_assert_msg(mon_rc == 0, "train exited %d: %s", mon_rc, mon_err);
    read_csv(mon_dir, "loss", &c);
    ck_assert_int_eq(c.n, 20);
    for (i = 0; i < 20; ++i) {
        ck_assert_int_eq(c.step[i], i);
        ck_assert_int_eq(c.epoch[i], 0);
        ck_assert_int_eq(c.unit[i], 0);
    }
    /* the summed cross-entropy of 30 records starts near 30 ln 10 = 69.08 (small weights) */
    ck_assert_double_eq_tol(c.value[0], 30.0 * log(10.0), 3.0);
    j = load_summary(mon_dir);
    ck_assert_double_eq_tol(c.value[19], json_real_value(json_object_get(j, "final_loss")),
                            1e-6 * c.value[19]);
    json_decref(j);
    ck_assert_ptr_nonnull(strstr(mon_err, "tapegrad: monitors: "));
}
END_TEST

/* The spec's {"type": "gradient", "layer": -1}: dL/db of the output layer every 5 steps, 10
 * units. With the summed softmax cross-entropy dL/db_c = sum_b (p_bc - y_bc), so each
 * sample's units sum to sum_b (1 - 1) = 0. */
START_TEST(test_monitor_spec_gradient_csv)
{
    csv_rows c;
    double sum[4] = { 0 }, mag = 0.0;
    int i;
    ck_assert_int_eq(mon_rc, 0);
    read_csv(mon_dir, "grad_layer1_bias", &c);
    ck_assert_int_eq(c.n, 40);
    for (i = 0; i < 40; ++i) {
        ck_assert_int_eq(c.step[i], 5 * (i / 10));
        ck_assert_int_eq(c.unit[i], i % 10);
        sum[i / 10] += c.value[i];
        mag += fabs(c.value[i]);
    }
    for (i = 0; i < 4; ++i)
        ck_assert_double_eq_tol(sum[i], 0.0, 1e-4);
    ck_assert(mag > 1.0);  /* and not all zero */
}
END_TEST

/* Every layer is watched for the diagnosis at the smallest period asked for (1): the norms,
 * weights and activations of layer 1, while layer 0's gradient norm keeps its option's 5. */
START_TEST(test_monitor_diagnosis_watch)
{
    csv_rows c;
    json_t *j, *names;
    ck_assert_int_eq(mon_rc, 0);
    read_csv(mon_dir, "gradnorm_layer0", &c);
    ck_assert_int_eq(c.n, 4);
    ck_assert_int_eq(c.step[3], 15);
    read_csv(mon_dir, "gradnorm_layer1", &c);
    ck_assert_int_eq(c.n, 20);
    read_csv(mon_dir, "weight_layer0", &c);
    ck_assert_int_eq(c.n, 60);  /* ||W||, mean, std per step */
    /* U[-0.05, 0.05] weights: std 0.05 / sqrt(3) = 0.0289 before the first update */
    ck_assert_double_eq_tol(c.value[2], 0.05 / sqrt(3.0), 0.001);
    read_csv(mon_dir, "act_layer0_saturated", &c);
    ck_assert_int_eq(c.n, 20 * 16);
    j = load_summary(mon_dir);
    names = json_object_get(j, "monitors");
    ck_assert_str_eq(json_string_value(json_array_get(names, 0)), "grad_layer1_bias");
    ck_assert_str_eq(json_string_value(json_array_get(names, 3)), "loss");
    json_decref(j);
}
END_TEST

/* summary.json's diagnosis: the verdict, and ratios that are the CSVs' means. */
START_TEST(test_monitor_summary_diagnosis)
{
    static const char *const verdicts[] = { "healthy", "vanishing", "exploding", "saturated",
                                            "dead" };
    csv_rows c0, c1;
    json_t *j, *d, *layers;
    const char *v;
    double g0, g1;
    size_t i, known = 0;
    ck_assert_int_eq(mon_rc, 0);
    j = load_summary(mon_dir);
    d = json_object_get(j, "diagnosis");
    ck_assert(json_is_object(d));
    v = json_string_value(json_object_get(d, "verdict"));
    ck_assert_ptr_nonnull(v);
    for (i = 0; i < sizeof verdicts / sizeof verdicts[0]; ++i)
        known += !strcmp(v, verdicts[i]);
    ck_assert_msg(known == 1, "verdict \"%s\"", v);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(d, "message")), v));
    layers = json_object_get(d, "layers");
    ck_assert_uint_eq(json_array_size(layers), 2);
    read_csv(mon_dir, "gradnorm_layer0", &c0);
    read_csv(mon_dir, "gradnorm_layer1", &c1);
    g0 = json_real_value(json_object_get(json_array_get(layers, 0), "grad_norm"));
    g1 = json_real_value(json_object_get(json_array_get(layers, 1), "grad_norm"));
    /* means over the sampled steps, written with 6 significant digits */
    ck_assert_double_eq_tol(g0, csv_mean(&c0), 1e-5 * g0);
    ck_assert_double_eq_tol(g1, csv_mean(&c1), 1e-5 * g1);
    ck_assert_double_eq_tol(json_real_value(json_object_get(d, "first_to_last_grad_ratio")),
                            g0 / g1, 1e-5 * g0 / g1);
    ck_assert_double_eq_tol(json_number_value(json_object_get(json_array_get(layers, 1),
                                                              "ratio")), 1.0, 1e-9);
    ck_assert_ptr_nonnull(strstr(mon_err, "tapegrad: diagnosis: "));
    json_decref(j);
}
END_TEST

/* Plots in RUNDIR/plots; graph.dot and graph.svg carry the gradient norms. */
START_TEST(test_monitor_plots_and_graph)
{
    static const char *const plots[] = { "loss", "gradnorm", "grad_layer1_bias" };
    char path[PATH_MAX + 64], text[1 << 16];
    unsigned char head[8];
    size_t i;
    FILE *f;
    ck_assert_int_eq(mon_rc, 0);
    for (i = 0; i < sizeof plots / sizeof plots[0]; ++i) {
        snprintf(path, sizeof path, "%s/plots/%s.png", mon_dir, plots[i]);
#ifdef HAVE_PLPLOT
        ck_assert_msg((f = fopen(path, "rb")) != NULL, "%s missing", path);
        memset(head, 0, sizeof head);
        ck_assert_int_eq(fread(head, 1, 8, f), 8);
        fclose(f);
        ck_assert(memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0);
#else
        (void)f;
        (void)head;
        ck_assert_int_ne(access(path, F_OK), 0);
#endif
    }
#ifdef HAVE_GRAPHVIZ
    snprintf(path, sizeof path, "%s/graph.dot", mon_dir);
    slurp(path, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "mean gradient norms"));
    ck_assert_ptr_nonnull(strstr(text, "|grad|"));
    snprintf(path, sizeof path, "%s/graph.svg", mon_dir);
    slurp(path, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "<svg"));
    ck_assert_ptr_nonnull(strstr(text, "|grad|"));
#else
    (void)text;
#endif
}
END_TEST

START_TEST(test_monitor_option_errors)
{
    char spec[PATH_MAX];
    ck_assert_int_eq(RUN("train", "x.json", "--monitor", "grad"), 2);
    ck_assert_one_line("--monitor: monitor_spec: \"grad\": expected KIND:PERIOD[:LAYER]");
    ck_assert_int_eq(RUN("train", "x.json", "--monitor", "norm:5"), 2);
    ck_assert_one_line("--monitor: monitor_spec: \"norm:5\": ");
    ck_assert_one_line("(known: loss, grad, gradnorm, weight, activation)");
    ck_assert_int_eq(RUN("train", "x.json", "--monitor", "grad:0:1"), 2);
    ck_assert_one_line("\"grad:0:1\": period 0");
    ck_assert_int_eq(RUN("train", "x.json", "--monitor", "loss:5:0"), 2);
    ck_assert_one_line("\"loss:5:0\": loss takes no layer");
    /* a layer the net does not have, and a monitor asked for twice, once by the spec */
    write_spec(spec, sizeof spec, "mon-dup.json", "{" TINY_LAYERS ", " TINY_REST ", "
               "'monitors': [{'type': 'gradient', 'period': 5, 'layer': 0}]}");
    ck_assert_int_eq(RUN("train", spec, "--data", mnist(), "--monitor", "grad:5:2",
                         "--quiet"), 2);
    ck_assert_one_line("--monitor grad:5:2: monitor_set_add: grad: layer 2 outside -2..1 (the "
                       "net has 2 layers)");
    ck_assert_int_eq(RUN("train", spec, "--data", mnist(), "--monitor", "grad:7:-2",
                         "--quiet"), 2);
    ck_assert_one_line("--monitor grad:7:-2: monitor_set_add: grad: 'grad_layer0_bias' is "
                       "watched already");
    ck_assert_str_eq(out_buf, "");
}
END_TEST

/* A run that fails keeps what the monitors saw: the loss of step 0, then the failure. */
START_TEST(test_monitor_kept_after_failure)
{
    char spec[PATH_MAX], out[PATH_MAX], sum[PATH_MAX + 16];
    csv_rows c;
    write_spec(spec, sizeof spec, "diverge-mon.json", "{" TINY_LAYERS ", 'loss': "
               "'softmax_cross_entropy_sum', 'optimizer': {'name': 'sgd', 'learning_rate': "
               "1e38}, 'data': {'batch': 30}, 'monitors': [{'type': 'loss'}]}");
    tmp_path(out, sizeof out, "run-diverge-mon");
    ck_assert_int_eq(RUN("train", spec, "--data", mnist(), "--out", out, "--steps", "50"), 1);
    ck_assert_ptr_nonnull(strstr(err_buf, "diverge-mon.json: train: step 1 (epoch 0): "));
    ck_assert_ptr_nonnull(strstr(err_buf, "the monitors' samples up to the failure are in "));
    read_csv(out, "loss", &c);
    ck_assert_int_ge(c.n, 1);
    ck_assert_int_eq(c.step[0], 0);
    ck_assert(isfinite(c.value[0]) && c.value[0] > 0.0);
    snprintf(sum, sizeof sum, "%s/summary.json", out);
    ck_assert_int_ne(access(sum, F_OK), 0);
}
END_TEST

/* ---- signals ---------------------------------------------------------------------------- */
enum { TINY_STEPS_PER_EPOCH = 8000 / 30 };  /* the 8,000 training digits in batches of 30 */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int n_tmp;  /* counted by count_tmp */

static int count_tmp(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    n_tmp += flag == FTW_F && S_ISREG(st->st_mode) && strstr(path + ftw->base, ".tmp");
    return 0;
}

/* Regular files with ".tmp" in their names under dir (temp files of an unfinished write). */
static int temp_files(const char *dir)
{
    n_tmp = 0;
    ck_assert_int_eq(nftw(dir, count_tmp, 16, FTW_PHYS), 0);
    return n_tmp;
}

/* 1 if the files at a and b hold the same bytes. */
static int files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int ca = 0, cb = 0;
    ck_assert_msg(fa && fb, "%s or %s missing", a, b);
    while ((ca = getc(fa)) == (cb = getc(fb)) && ca != EOF)
        ;
    fclose(fa);
    fclose(fb);
    return ca == cb;
}

/* A train run sent a signal: its stderr comes through a pipe, so the test sees when the
 * command has said "training" (it catches SIGINT and SIGTERM from then on). */
typedef struct sig_run {
    pid_t pid;
    int err;              /* read end of its stderr */
    size_t len;           /* bytes of it in err_buf */
    char so[PATH_MAX];    /* its stdout */
} sig_run;

/* Append the command's stderr to err_buf until it holds needle, or (needle NULL) to its
 * end; fails after 60 s without output. */
static void sig_run_read(sig_run *r, const char *needle)
{
    struct pollfd p = { r->err, POLLIN, 0 };
    ssize_t got;
    while (!needle || !strstr(err_buf, needle)) {
        ck_assert_msg(r->len < sizeof err_buf - 1, "stderr too long: %s", err_buf);
        ck_assert_msg(poll(&p, 1, 60000) == 1, "no output for 60 s; stderr: %s", err_buf);
        got = read(r->err, err_buf + r->len, sizeof err_buf - 1 - r->len);
        ck_assert_int_ge(got, 0);
        if (!got) {
            ck_assert_msg(!needle, "stderr ended without \"%s\": %s", needle, err_buf);
            return;
        }
        r->len += (size_t)got;
        err_buf[r->len] = '\0';
    }
}

/* Start train with args (NULL-terminated, without argv[0]) and send it sig ms milliseconds
 * after training has begun (the delay only lets some steps pass; the tests hold for any
 * number of steps). */
static void sig_run_start(sig_run *r, const char *const *args, int sig, int ms)
{
    int fds[2];
    ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
    r->pid = spawn(NULL, args, stdout_path(r->so, sizeof r->so), fds[1]);
    close(fds[1]);
    r->err = fds[0];
    r->len = 0;
    err_buf[0] = '\0';
    sig_run_read(r, "tapegrad: training ");
    usleep(1000 * (useconds_t)ms);
    ck_assert_int_eq(kill(r->pid, sig), 0);
}

/* Read the rest of stderr, wait; stdout in out_buf. The exit status, or 128 + the signal that
 * killed the command (*killed set to 1). */
static int sig_run_finish(sig_run *r, int *killed)
{
    sig_run_read(r, NULL);
    close(r->err);
    slurp(r->so, out_buf, sizeof out_buf);
    unlink(r->so);
    return wait_status(r->pid, killed);
}

/* stderr ends with "tapegrad: interrupted at step N (epoch E); outputs written to DIR"; N
 * steps done (1 <= N < max), in epoch E (1-based) */
static long interrupted_at(const char *dir, long max, long *epoch)
{
    char want[PATH_MAX + 128];
    const char *line = strstr(err_buf, "tapegrad: interrupted at step ");
    long n = 0;
    ck_assert_msg(line && sscanf(line, "tapegrad: interrupted at step %ld (epoch %ld)", &n,
                                 epoch) == 2, "stderr: %s", err_buf);
    ck_assert_msg(n >= 1 && n < max, "stopped after %ld steps of %ld", n, max);
    ck_assert_int_eq(*epoch, (n - 1) / TINY_STEPS_PER_EPOCH + 1);
    snprintf(want, sizeof want, "tapegrad: interrupted at step %ld (epoch %ld); outputs "
             "written to %s\n", n, *epoch, dir);
    ck_assert_str_eq(line, want);  /* the last line */
    return n;
}

/* summary.json in dir says "interrupted": {"signal": sig, "step": n, "epoch": e}, and so do
 * "steps" and "epochs". */
static void check_interrupted_summary(const char *dir, const char *sig, long n, long e)
{
    json_t *j = load_summary(dir), *in = json_object_get(j, "interrupted");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "steps")), n);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "epochs")), e);
    ck_assert_msg(json_is_object(in), "\"interrupted\" is not an object");
    ck_assert_str_eq(json_string_value(json_object_get(in, "signal")), sig);
    ck_assert_int_eq(json_integer_value(json_object_get(in, "step")), n);
    ck_assert_int_eq(json_integer_value(json_object_get(in, "epoch")), e);
    json_decref(j);
}

/* SIGINT mid-run keeps the steps done as if --steps had asked for them: exit 130, the line
 * saying where, summary.json saying so, no temp file, and params.tgp byte for byte that of an
 * uninterrupted run of as many steps. */
START_TEST(test_signal_sigint_keeps_steps_done)
{
    char spec[PATH_MAX], out[PATH_MAX], again[PATH_MAX], pa[PATH_MAX + 16], pb[PATH_MAX + 16];
    char steps[32], want[64];
    long n, e;
    int killed;
    json_t *j;
    sig_run r;
    write_spec(spec, sizeof spec, "sig.json", tiny_spec);
    tmp_path(out, sizeof out, "run-sigint");
    nftw(out, rm_entry, 16, FTW_DEPTH | FTW_PHYS);  /* a previous run's files */
    sig_run_start(&r, (const char *const[]){ "train", spec, "--data", mnist(), "--out", out,
                                             "--epochs", "1000", "--threads", "1", NULL },
                  SIGINT, 300);
    ck_assert_int_eq(sig_run_finish(&r, &killed), 130);
    ck_assert(!killed);
    n = interrupted_at(out, 1000L * TINY_STEPS_PER_EPOCH, &e);
    snprintf(want, sizeof want, ", %ld steps, ", n);
    ck_assert_msg(strstr(out_buf, want) != NULL, "stdout: %s", out_buf);
    check_interrupted_summary(out, "SIGINT", n, e);
    ck_assert_int_eq(temp_files(out), 0);

    tmp_path(again, sizeof again, "run-sigint-again");
    snprintf(steps, sizeof steps, "%ld", n);
    ck_assert_msg(RUN("train", spec, "--data", mnist(), "--out", again, "--epochs", "1000",
                      "--threads", "1", "--steps", steps, "--quiet") == 0, "%s", err_buf);
    j = load_summary(again);
    ck_assert(json_is_null(json_object_get(j, "interrupted")));
    json_decref(j);
    snprintf(pa, sizeof pa, "%s/params.tgp", out);
    snprintf(pb, sizeof pb, "%s/params.tgp", again);
    ck_assert_msg(files_equal(pa, pb), "params.tgp after %ld steps differ", n);
}
END_TEST

/* SIGTERM: exit 143; the monitors' CSVs end at the step reached, the diagnosis and the plots
 * are written, and no temp file is left. */
START_TEST(test_signal_sigterm_writes_monitors)
{
    char spec[PATH_MAX], out[PATH_MAX], path[PATH_MAX + 32];
    csv_rows c;
    long n, e;
    int i, killed;
    json_t *j;
    sig_run r;
    write_spec(spec, sizeof spec, "sig.json", tiny_spec);
    tmp_path(out, sizeof out, "run-sigterm");
    nftw(out, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    sig_run_start(&r, (const char *const[]){ "train", spec, "--data", mnist(), "--out", out,
                                             "--steps", "20000", "--epochs", "1000",
                                             "--monitor", "loss:100", NULL }, SIGTERM, 300);
    ck_assert_int_eq(sig_run_finish(&r, &killed), 143);
    ck_assert(!killed);
    n = interrupted_at(out, 20000, &e);
    check_interrupted_summary(out, "SIGTERM", n, e);
    read_csv(out, "loss", &c);  /* steps 0, 100, ... below n */
    ck_assert_int_eq(c.n, (n - 1) / 100 + 1);
    for (i = 0; i < c.n; ++i) {
        ck_assert_int_eq(c.step[i], 100 * i);
        ck_assert_int_eq(c.epoch[i], 100 * i / TINY_STEPS_PER_EPOCH);
        ck_assert(isfinite(c.value[i]) && c.value[i] > 0.0);
    }
    read_csv(out, "gradnorm_layer0", &c);  /* the diagnosis's, at the same period */
    ck_assert_int_eq(c.n, (n - 1) / 100 + 1);
    j = load_summary(out);
    ck_assert(json_is_object(json_object_get(j, "diagnosis")));
    json_decref(j);
    snprintf(path, sizeof path, "%s/plots/loss.png", out);
#ifdef HAVE_PLPLOT
    ck_assert_int_eq(access(path, R_OK), 0);
#else
    ck_assert_int_ne(access(path, F_OK), 0);
#endif
    ck_assert_int_eq(temp_files(out), 0);
}
END_TEST

/* Block until process pid has the file st open; fails after 60 s. */
static void wait_until_open(pid_t pid, const struct stat *want)
{
    char dir[64], path[384];
    struct dirent *de;
    struct stat st;
    int tries, found = 0;
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    for (tries = 0; tries < 6000 && !found; ++tries) {
        DIR *d = opendir(dir);
        ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
        while (!found && (de = readdir(d))) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            found = stat(path, &st) == 0 && st.st_dev == want->st_dev &&
                    st.st_ino == want->st_ino;
        }
        closedir(d);
        if (!found)
            usleep(10000);
    }
    ck_assert_msg(found, "the command did not open the FIFO in 60 s; stderr: %s", err_buf);
}

/* A second SIGINT while the outputs are written ends the command at once. summary.json is
 * written last, through summary.json.tmp: made a FIFO here, held open and full, it stops the
 * command in that write, after params.tgp and the graph. The second signal kills it there;
 * what it wrote is complete, summary.json is not there, no other temp file is left. */
START_TEST(test_signal_second_sigint_kills)
{
    char spec[PATH_MAX], out[PATH_MAX], fifo[PATH_MAX + 32], path[PATH_MAX + 32];
    char zeros[4096], text[1 << 16];
    struct stat st;
    tg_status s;
    tg_net *net;
    int fd, killed;
    sig_run r;
    write_spec(spec, sizeof spec, "sig.json", tiny_spec);
    tmp_path(out, sizeof out, "run-sigint2");
    nftw(out, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    ck_assert_int_eq(mkdir(out, 0777), 0);
    snprintf(fifo, sizeof fifo, "%s/summary.json.tmp", out);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    /* a reader, so the command's open succeeds; a full pipe, so its write blocks */
    fd = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    memset(zeros, 0, sizeof zeros);
    while (write(fd, zeros, sizeof zeros) > 0)
        ;
    while (write(fd, zeros, 1) > 0)
        ;
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(fstat(fd, &st), 0);
    sig_run_start(&r, (const char *const[]){ "train", spec, "--data", mnist(), "--out", out,
                                             "--epochs", "1000", NULL }, SIGINT, 0);
    wait_until_open(r.pid, &st);
    ck_assert_int_eq(kill(r.pid, SIGINT), 0);
    ck_assert_int_eq(sig_run_finish(&r, &killed), 130);
    ck_assert_msg(killed, "the second SIGINT did not kill the command; stderr: %s", err_buf);
    close(fd);
    ck_assert_ptr_null(strstr(err_buf, "interrupted at step"));
    snprintf(path, sizeof path, "%s/summary.json", out);
    ck_assert_int_ne(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/params.tgp", out);
    net = tiny_net_load(path, &s);
    ck_assert_msg(s == TG_OK, "%s: %s", path, tg_last_error());
    tg_net_free(net);
    snprintf(path, sizeof path, "%s/graph.dot", out);
    slurp(path, text, sizeof text);
    ck_assert_msg(strlen(text) > 2 && !strcmp(text + strlen(text) - 2, "}\n"),
                  "graph.dot is not complete: %s", text);
#ifdef HAVE_GRAPHVIZ
    snprintf(path, sizeof path, "%s/graph.svg", out);
    slurp(path, text, sizeof text);
    ck_assert_ptr_nonnull(strstr(text, "</svg>"));
#endif
    ck_assert_int_eq(temp_files(out), 0);
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
}
END_TEST

/* ---- graph ---------------------------------------------------------------------------- */
START_TEST(test_graph_png)
{
    char spec[PATH_MAX], png[PATH_MAX];
    unsigned char head[8] = { 0 };
    FILE *f;
    write_spec(spec, sizeof spec, "tiny.json", tiny_spec);
    tmp_path(png, sizeof png, "tiny.png");
    unlink(png);
#ifdef HAVE_GRAPHVIZ
    ck_assert_msg(RUN("graph", spec, "-o", png) == 0, "%s", err_buf);
    ck_assert_ptr_nonnull(f = fopen(png, "rb"));
    ck_assert_int_eq(fread(head, 1, 8, f), 8);
    fclose(f);
    ck_assert(memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0);
#else
    (void)f;
    ck_assert_int_eq(RUN("graph", spec, "-o", png), 0);
    ck_assert_ptr_nonnull(strstr(err_buf, "not written"));
#endif
    ck_assert_int_eq(RUN("graph", spec, "-o", "x.jpg"), 2);
    ck_assert_one_line("graph: 'x.jpg': unknown format '.jpg' (use .dot, .svg or .png)");
    ck_assert_int_eq(RUN("graph", spec), 2);
    ck_assert_one_line("graph: no -o FILE given");
}
END_TEST

#endif /* TG_TEST_CLI */

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
#ifdef TG_TEST_CLI
    TCase *tc = tcase_create("usage");
    tcase_add_test(tc, test_cli_usage);
    tcase_add_test(tc, test_cli_version);
    tcase_add_test(tc, test_cli_help_command);
    tcase_add_test(tc, test_cli_unknown_command);
    tcase_add_test(tc, test_cli_bad_options);
    suite_add_tcase(s, tc);

    tc = tcase_create("spec");
    tcase_add_test(tc, test_spec_missing_file);
    tcase_add_test(tc, test_spec_syntax_error);
    tcase_add_test(tc, test_spec_unknown_key);
    tcase_add_test(tc, test_spec_unknown_names);
    tcase_add_test(tc, test_spec_activation_alpha);
    tcase_add_test(tc, test_spec_bad_init);
    tcase_add_test(tc, test_spec_wrong_types);
    tcase_add_test(tc, test_spec_bad_optimizer);
    tcase_add_test(tc, test_spec_monitors_parsed);
    tcase_add_test(tc, test_examples_build);
    suite_add_tcase(s, tc);

    tc = tcase_create("data");
    tcase_add_test(tc, test_train_missing_data_dir);
    tcase_add_test(tc, test_train_input_width_mismatch);
    tcase_add_test(tc, test_train_data_fallback);
    suite_add_tcase(s, tc);

    tc = tcase_create("run");
    tcase_add_unchecked_fixture(tc, run_setup, NULL);
    tcase_add_test(tc, test_run_summary);
    tcase_add_test(tc, test_run_params);
    tcase_add_test(tc, test_run_graph_files);
    tcase_add_test(tc, test_eval_matches_summary);
    tcase_add_test(tc, test_eval_bad_params);
    tcase_add_test(tc, test_train_init_params);
    tcase_add_test(tc, test_train_flush_subnormals);
    tcase_add_test(tc, test_train_progress_on_terminal);
    tcase_add_test(tc, test_train_nonfinite_fails);
    tcase_add_test(tc, test_train_out_not_a_dir);
    suite_add_tcase(s, tc);

    tc = tcase_create("monitor");
    tcase_add_unchecked_fixture(tc, mon_setup, NULL);
    tcase_add_test(tc, test_monitor_loss_csv);
    tcase_add_test(tc, test_monitor_spec_gradient_csv);
    tcase_add_test(tc, test_monitor_diagnosis_watch);
    tcase_add_test(tc, test_monitor_summary_diagnosis);
    tcase_add_test(tc, test_monitor_plots_and_graph);
    tcase_add_test(tc, test_monitor_option_errors);
    tcase_add_test(tc, test_monitor_kept_after_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("signal");
    tcase_add_test(tc, test_signal_sigint_keeps_steps_done);
    tcase_add_test(tc, test_signal_sigterm_writes_monitors);
    tcase_add_test(tc, test_signal_second_sigint_kills);
    suite_add_tcase(s, tc);

    tc = tcase_create("graph");
    tcase_add_test(tc, test_graph_png);
    suite_add_tcase(s, tc);
#endif
    return s;
}
