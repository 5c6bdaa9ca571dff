/* main.c: argv -> fd_cli_main(), nothing else. */
#include "cli.h"

int main(int argc, char **argv)
{
    return fd_cli_main(argc, argv);
}
