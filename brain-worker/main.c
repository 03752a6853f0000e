/* Placeholder wiring until the stage lands; replaced by the real main. */
#include <stdio.h>

int main(void) {
    fputs("brain-worker: not wired yet\n", stderr);
    return 1;
}
