/* hvvssctl: the command-line client of hvvssd. Everything happens in hvvssctl.c. */
#include "hvvssctl.h"

int main(int argc, char **argv)
{
        return hvvssctl_main(argc, argv);
}
