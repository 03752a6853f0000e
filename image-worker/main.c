/* Placeholder wiring until the stage lands; replaced by the real main. */
#include <stdio.h>

int main(void) {
    fputs("image-worker: not wired yet\n", stderr);
    return 1;
}
