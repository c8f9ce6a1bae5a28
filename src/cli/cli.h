/* cli.h -- shared by the tapegrad command sources. */
#ifndef TAPEGRAD_CLI_H
#define TAPEGRAD_CLI_H
#endif
