/* The fuzz targets' entry points. Each tests/fuzz/fuzz_<name>.c defines bf_fuzz_<name> and, unless
 * BF_FUZZ_NO_ENTRY is defined, libFuzzer's LLVMFuzzerTestOneInput calling it. The main (gcc) build
 * compiles the same files with BF_FUZZ_NO_ENTRY into unit_test_security_fuzz_corpus, which replays
 * every committed corpus file (crash regressions included) under ASan/UBSan.
 *
 * The functions return 0 and abort() on a broken property (a decoded message that does not
 * re-encode, a parsed config value outside its bounds ...), which both libFuzzer and the unit test
 * report as a crash with the input that caused it. */
#ifndef BF_FUZZ_H
#define BF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int bf_fuzz_msg_decode(const uint8_t *data, size_t size);
int bf_fuzz_llm_answer(const uint8_t *data, size_t size);
int bf_fuzz_config_value(const uint8_t *data, size_t size);
int bf_fuzz_json_parse(const uint8_t *data, size_t size);
int bf_fuzz_image_decode(const uint8_t *data, size_t size);
int bf_fuzz_image_webp(const uint8_t *data, size_t size);
int bf_fuzz_image_heif(const uint8_t *data, size_t size);
int bf_fuzz_image_exif(const uint8_t *data, size_t size);

/* A copy of data[0..size) that ends exactly at a PROT_NONE page, so a read one byte past the end
 * faults even inside uninstrumented libraries (libcjson, libstb are the distribution's builds, which
 * ASan cannot see into). Free with bf_fuzz_guarded_free. NULL when mmap fails. */
const char *bf_fuzz_guarded_copy(const uint8_t *data, size_t size, void **mapping, size_t *map_len);
void bf_fuzz_guarded_free(void *mapping, size_t map_len);

/* The properties every image decoder target checks on one answer: a refusal (px NULL) has a
 * status other than OK (ok == 0) and a non-empty, NUL-terminated reason in err[errlen]; pixels
 * come with status OK, w x h within max_side and max_pixels, and every byte of w*h*3 readable
 * (touched, so ASan sees a short buffer). `what` names the decoder in the failure. */
void bf_fuzz_check_decoded(const char *what, const uint8_t *px, int ok, uint32_t w, uint32_t h, uint64_t max_side,
                           uint64_t max_pixels, const char *err, size_t errlen);

/* Aborts with a message on stderr: a property the target checks does not hold. */
_Noreturn void bf_fuzz_fail(const char *what, const char *detail);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
