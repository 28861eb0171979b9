/* main-options: hvvssd's command line (popt), parsed into DaemonOptions; separate from main() so it is unit-tested. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "daemon.h"

enum {
        MAIN_E_USAGE = 100,             /* bad command line: explained on stderr */
};

typedef struct MainOptions {
        DaemonOptions daemon;           /* strings point into the fields below */
        bool foreground;
        bool help, version;
        char *config, *device, *socket, *state_dir, *mountinfo, *sysfs, *proc, *group;
        char **scope;
} MainOptions;

/*
 * Parses argv. 0: run (or help/version was printed to out: o->help,
 * o->version); MAIN_E_USAGE: a message naming the problem and "--help" on
 * err; -ENOMEM.
 */
int main_options_parse(MainOptions *o, int argc, const char **argv, FILE *out, FILE *err);
void main_options_clear(MainOptions *o);
