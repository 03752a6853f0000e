#!/usr/bin/env python3
"""Regenerates the seed corpus under tests/fuzz/corpus/<target>/seed-* from the contract corpus
(tests/contracts), the LLM answer classes of tests/unit/test_brain_llm.c and small images made here.
Files named crash-* / regress-* (regressions found by fuzzing) are never touched.
Usage: tests/fuzz/make-seeds.py [repo root]"""
import glob, json, os, struct, sys, zlib

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))
out = os.path.join(root, "tests", "fuzz", "corpus")
MAX_SEED = 20000  # bytes: seeds stay small; the fuzzer grows inputs itself (write() enforces it)


def write(target, name, data):
    if len(data) > MAX_SEED:
        sys.exit(f"make-seeds: seed {target}/{name} would be {len(data)} bytes, above {MAX_SEED}")
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clear(target):
    for p in glob.glob(os.path.join(out, target, "seed-*")):
        os.remove(p)


for t in ("msg_decode", "json_parse", "llm_answer", "config_value", "image_decode", "image_webp", "image_heif",
          "image_exif"):
    clear(t)

# msg_decode: first byte = decoder (bf_fuzz_msg_decode's order), then the message.
topics = ["brainRequests", "imageAnalysisRequested", "imageFactsReady", "imageFactsProcessed",
          "memoryUpdates", "brainDecisions", "deadLetters"]
# 7 is the bare envelope; editorEvents came later and took 8.
for i, topic in list(enumerate(topics)) + [(8, "editorEvents")]:
    for kind in ("valid", "invalid"):
        for p in sorted(glob.glob(os.path.join(root, "tests", "contracts", topic, kind, "*.json"))):
            data = open(p, "rb").read()
            if len(data) > MAX_SEED:
                continue
            base = os.path.basename(p)[:-5]
            write("msg_decode", f"{topic}-{kind}-{base}", bytes([i]) + data)
            if kind == "valid":
                write("msg_decode", f"envelope-{topic}-{base}", bytes([7]) + data)
                write("json_parse", f"{topic}-{base}", data)
            elif base in ("invalid_utf8", "nul_escape", "duplicate_key", "trailing_garbage", "not_json"):
                write("json_parse", f"{topic}-{base}", data)
write("json_parse", "deep", b"[" * 33 + b"]" * 33)
write("json_parse", "numbers", b'[0,-0,1e308,1e309,-1e-400,9007199254740993,1.5E+2,0.1]')
write("json_parse", "escapes", b'{"a":"\\ud83d\\ude00\\n\\t\\"\\\\\\/","b":"\\ud800"}')

# llm_answer: first byte = checking context (see fuzz_llm_answer.c; bit 6: JSON mode), then a
# chat-completions body. The classes of tests/unit/test_brain_llm.c: legacy JSON content, JSON-mode
# answers and function calls, valid and broken.
def completion(content=None, refusal=None, calls=None, finish=None):
    msg = {"role": "assistant", "content": content}
    if refusal is not None:
        msg["refusal"] = refusal
    if calls:
        msg["tool_calls"] = [{"id": f"call_{i}", "type": "function",
                              "function": {"name": n, "arguments": a if isinstance(a, str) else json.dumps(a)}}
                             for i, (n, a) in enumerate(calls)]
    return json.dumps({"id": "c1", "choices": [{"index": 0, "message": msg,
                                                "finish_reason": finish or ("tool_calls" if calls else "stop")}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 42}}).encode()

answers = {
    "edit": '{"tool":"editScene","target_scene":"s2","params":{"instruction":"x"},"summary":"ok"}',
    "fenced": '```json\n{"tool":"addScene","params":{},"summary":"add"}\n```',
    "prose": 'Sure! Here it is: {"tool":"addScene","summary":"a"} Hope it helps.',
    "clarify": '{"tool":"clarification","question":"Which one?"}',
    "delete": '{"tool":"deleteScene","summary":"d"}',
    "unknown_tool": '{"tool":"launchRocket","summary":"x"}',
    "params_array": '{"tool":"addScene","params":[1,2]}',
    "not_json": "I think you should add a scene.",
    "truncated": '{"tool":"addScene","summary":"cut',
    "image_tool": '{"tool":"createSceneFromImage","params":{"image":0}}',
    "with_image": '{"tool":"editSceneWithImage","target_scene":"scene-3","params":{}}',
    "duration": '{"tool":"changeDuration","target_scene":"s1","params":{"duration_ms":5000}}',
    "long_target": '{"tool":"fixBrokenScene","target_scene":"' + "s" * 200 + '"}',
    "control_summary": '{"tool":"addScene","summary":"a\\u0001b\\u001b[31m","params":{}}',
    "long_summary": '{"tool":"addScene","summary":"' + "\u00e9" * 3000 + '","params":{}}',
    "json_mode_call": '{"tool":"editScene","arguments":{"scene_id":"s2","instruction":"x","summary":"ok"}}',
    "json_mode_calls": '{"calls":[{"tool":"addScene","arguments":{"instruction":"a","summary":"s"}},'
                       '{"tool":"changeDuration","arguments":{"scene_id":"s1","delta_ms":1000,"summary":"s"}}]}',
}
for i, (name, content) in enumerate(answers.items()):
    write("llm_answer", name, bytes([i * 7 % 64]) + completion(content))
    if name.startswith("json_mode"):
        write("llm_answer", name + "-json", bytes([64 | (i * 7 % 64)]) + completion(content))
EDIT = {"scene_id": "s2", "instruction": "bigger logo", "summary": "Bigger logo."}
calls = {
    "call_valid": ([("editScene", EDIT)], None, None, None),
    "call_clarify": ([("askClarification", {"question": "Which one?"})], None, None, None),
    "call_two": ([("editScene", EDIT), ("changeDuration", {"scene_id": "s1", "duration_ms": 5000, "summary": "s"})],
                 None, None, None),
    "call_wrong_type": ([("changeDuration", {"scene_id": "s1", "duration_ms": "5000", "summary": "s"})], None, None, None),
    "call_invented_image": ([("analyzeImage", {"image_url": "https://made.up/x.png", "summary": "s"})], None, None, None),
    "call_project_image": ([("editSceneWithImage", {"scene_id": "s1", "image_url": "https://cdn.example.com/moodboard.png",
                                                    "instruction": "x", "summary": "s"})], None, None, None),
    "call_unknown_scene": ([("editScene", {"scene_id": "s9", "instruction": "x", "summary": "s"})], None, None, None),
    "call_unknown_tool": ([("launchRocket", {})], None, None, None),
    "call_args_not_json": ([("editScene", "{scene_id: s2")], None, None, None),
    "call_length": ([("editScene", '{"scene_id":"s2","instruction":"make the lo')], None, None, "length"),
    "call_with_content": ([("editScene", EDIT)], '{"tool":"deleteScene"} deleting', None, None),
    "call_refusal": (None, None, "I can't help with that.", None),
    "call_text_only": (None, "Sure, I'll make the logo bigger!", None, None),
    "call_clarify_beside": ([("editScene", EDIT), ("askClarification", {"question": "Sure?"})], None, None, None),
    "call_many": ([("editScene", EDIT)] * 17, None, None, None),
    "call_long_instruction": ([("addScene", {"instruction": "x" * 3900, "summary": "s" * 399})], None, None, None),
}
for i, (name, (cs, content, refusal, finish)) in enumerate(calls.items()):
    body = completion(content, refusal, cs, finish)
    if len(body) <= MAX_SEED:
        write("llm_answer", name, bytes([(i * 11) % 64]) + body)
write("llm_answer", "html", b"\x00<html>502 Bad Gateway</html>")
write("llm_answer", "no_choices", b'\x00{"choices":[]}')
write("llm_answer", "api_error", b'\x00{"error":{"message":"rate limited","type":"rate_limit"}}')
write("llm_answer", "null_content", b'\x02{"choices":[{"message":{"content":null}}]}')

# config_value: first byte = type (mod 8) and bound bits (see fuzz_config_value.c), then the text.
values = {0: [b"kafka:9092", b""], 1: [b"42", b"-7", b"99999999999999999999", b"0x10"],
          2: [b"true", b"off", b"maybe"], 3: [b"250ms", b"10s", b"5m", b"2h", b"30d", b"-1s", b"9223372036854775807d"],
          4: [b"512", b"64k", b"10MiB", b"1G", b"8E"], 5: [b"debug", b"warn", b"loud"],
          6: [b"https://api.example.com/v1", b"http://", b"ftp://x", b"https://:80"],
          7: [b"0.5", b"1e309", b"nan", b"-0", b"0x1p3"]}
for t, vs in values.items():
    for j, v in enumerate(vs):
        write("config_value", f"type{t}-{j}", bytes([t]) + v)
        write("config_value", f"type{t}-{j}-bounded", bytes([t | 8 | 16]) + v)

# image_decode: first byte = limits (odd: tight), then the image bytes.
def png(w, h, rgb=(200, 30, 30)):
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def bmp(w, h):
    row = (bytes([30, 30, 200]) * w + b"\x00" * 3)[: (w * 3 + 3) // 4 * 4]
    pix = row * h
    return (b"BM" + struct.pack("<IHHI", 54 + len(pix), 0, 0, 54) +
            struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pix), 2835, 2835, 0, 0) + pix)

gif1 = (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
write("image_decode", "png-4x3", b"\x00" + png(4, 3))
write("image_decode", "png-4x3-tight", b"\x01" + png(4, 3))
write("image_decode", "png-declares-huge", b"\x00" + png(1, 1)[:16] + struct.pack(">II", 100000, 100000) + png(1, 1)[24:])
write("image_decode", "bmp-5x2", b"\x00" + bmp(5, 2))
write("image_decode", "bmp-topdown", b"\x00" + bmp(5, 2)[:22] + struct.pack("<i", -2) + bmp(5, 2)[26:])
write("image_decode", "gif-1x1", b"\x00" + gif1)
write("image_decode", "jpeg-truncated", b"\x00\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
      b"\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01")
# Real JPEGs (baseline, 16x8 and 9x9) encoded by libstb's stb_image_write, when cc and libstb exist.
import shutil, subprocess, tempfile
cc = shutil.which("cc") or shutil.which("clang") or shutil.which("gcc")
if cc:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "j.c")
        open(src, "w").write(
            "#include <stdio.h>\n#include <stb_image_write.h>\n"
            "static void w(void *c, void *d, int n) { fwrite(d, 1, (size_t)n, (FILE *)c); }\n"
            "int main(void) { unsigned char px[16 * 9 * 3]; for (int i = 0; i < 16 * 9 * 3; i++) px[i] = (unsigned char)(i * 37);\n"
            "  return !(stbi_write_jpg_to_func(w, stdout, 16, 8, 3, px, 90) && fflush(stdout) == 0); }\n")
        exe = os.path.join(tmp, "j")
        if subprocess.run([cc, "-I/usr/include/stb", src, "-o", exe, "-lstb", "-lm"], capture_output=True).returncode == 0:
            jpg = subprocess.run([exe], capture_output=True).stdout
            if jpg:
                write("image_decode", "jpeg-16x8", b"\x00" + jpg)
                write("image_decode", "jpeg-16x8-tight", b"\x01" + jpg)
write("image_decode", "webp-truncated", b"\x00RIFF\x1a\x00\x00\x00WEBPVP8 ")

# image_webp / image_heif: first byte = limits (odd: tight), then a file made by libwebp's and
# libheif's own encoders (x265 for HEVC, libaom for AV1), compiled and run here when cc, libwebp-dev
# and libheif-dev exist. The same files seed image_decode, which dispatches on the magic bytes.
ENCODERS_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libheif/heif.h>
#include <webp/encode.h>
#include <webp/mux.h>

static const char *dir;
static void save(const char *name, const void *d, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n) exit(1);
    fclose(f);
}
static void pattern(unsigned char *px, int w, int h, int ch, int seed) {
    for (int i = 0; i < w * h; i++)
        for (int c = 0; c < ch; c++) px[i * ch + c] = (unsigned char)(c == 3 ? (i * 17) : (i * 37 + c * 80 + seed * 50));
}
static struct heif_error to_file(struct heif_context *ctx, const void *d, size_t n, void *name) {
    (void)ctx;
    save(name, d, n);
    struct heif_error ok = {heif_error_Ok, heif_suberror_Unspecified, "ok"};
    return ok;
}
static void heif(const char *name, int av1, int w, int h, int orientation) {
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image *img;
    struct heif_encoder *enc;
    if (heif_image_create(w, h, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &img).code) exit(1);
    heif_image_add_plane(img, heif_channel_interleaved, w, h, 8);
    int stride;
    unsigned char *p = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    unsigned char *px = malloc((size_t)w * h * 3);
    pattern(px, w, h, 3, av1);
    for (int y = 0; y < h; y++) memcpy(p + y * stride, px + y * w * 3, (size_t)w * 3);
    if (heif_context_get_encoder_for_format(ctx, av1 ? heif_compression_AV1 : heif_compression_HEVC, &enc).code) exit(1);
    heif_encoder_set_lossy_quality(enc, 50);
    heif_encoder_set_logging_level(enc, 0);
    struct heif_encoding_options *o = heif_encoding_options_alloc();
    if (orientation) o->image_orientation = (enum heif_orientation)orientation;
    if (heif_context_encode_image(ctx, img, enc, o, NULL).code) exit(1);
    struct heif_writer wr = {1, to_file};
    if (heif_context_write(ctx, &wr, (void *)name).code) exit(1);
    heif_encoding_options_free(o);
    heif_encoder_release(enc);
    heif_image_release(img);
    heif_context_free(ctx);
    free(px);
}
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    dir = argv[1];
    unsigned char px[16 * 8 * 4], *out;
    size_t n;
    pattern(px, 16, 8, 3, 0);
    n = WebPEncodeRGB(px, 16, 8, 48, 60, &out);
    save("webp-lossy-16x8", out, n);
    WebPFree(out);
    n = WebPEncodeLosslessRGB(px, 16, 8, 48, &out);
    save("webp-lossless-16x8", out, n);
    WebPFree(out);
    pattern(px, 16, 8, 4, 1);
    n = WebPEncodeRGBA(px, 16, 8, 64, 60, &out); /* VP8X with an ALPH chunk */
    save("webp-alpha-16x8", out, n);
    WebPFree(out);
    /* An animation of three frames whose later frames change a corner only (sub-frames). */
    WebPAnimEncoderOptions eo;
    WebPAnimEncoderOptionsInit(&eo);
    WebPAnimEncoder *ae = WebPAnimEncoderNew(16, 8, &eo);
    WebPConfig cfg;
    WebPConfigInit(&cfg);
    cfg.lossless = 1;
    for (int f = 0; f < 3; f++) {
        WebPPicture pic;
        WebPPictureInit(&pic);
        pic.width = 16, pic.height = 8, pic.use_argb = 1;
        pattern(px, 16, 8, 3, 0);
        for (int i = 0; i < 4 * f; i++) px[i] = 255;
        WebPPictureImportRGB(&pic, px, 48);
        WebPAnimEncoderAdd(ae, &pic, f * 100, &cfg);
        WebPPictureFree(&pic);
    }
    WebPAnimEncoderAdd(ae, NULL, 300, NULL);
    WebPData wd;
    WebPDataInit(&wd);
    if (!WebPAnimEncoderAssemble(ae, &wd)) return 1;
    save("webp-anim-16x8", wd.bytes, wd.size);
    WebPDataClear(&wd);
    WebPAnimEncoderDelete(ae);
    heif("heic-16x16", 0, 16, 16, 0);
    heif("heic-24x8-rot6", 0, 24, 8, 6);
    heif("avif-16x16", 1, 16, 16, 0);
    heif("avif-24x8-mirror2", 1, 24, 8, 2);
    return 0;
}
"""
if cc:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "enc.c")
        open(src, "w").write(ENCODERS_C)
        exe = os.path.join(tmp, "enc")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libwebp", "libwebpmux", "libheif"],
                               capture_output=True, text=True)
        if flags.returncode == 0 and subprocess.run([cc, src, "-o", exe] + flags.stdout.split(),
                                                    capture_output=True).returncode == 0:
            if subprocess.run([exe, tmp], capture_output=True).returncode == 0:
                for name in sorted(os.listdir(tmp)):
                    if not (name.startswith("webp-") or name.startswith("heic-") or name.startswith("avif-")):
                        continue
                    data = open(os.path.join(tmp, name), "rb").read()
                    target = "image_webp" if name.startswith("webp-") else "image_heif"
                    write(target, name, b"\x00" + data)
                    write(target, name + "-tight", b"\x01" + data)
                    write("image_decode", name, b"\x00" + data)
                    if target == "image_webp":
                        write(target, name + "-truncated", b"\x00" + data[: len(data) * 2 // 3])
                    else:
                        write(target, name + "-truncated", b"\x00" + data[: len(data) - 20])
write("image_webp", "vp8l-declares-16384", b"\x00RIFF\x1a\x00\x00\x00WEBPVP8L\x0e\x00\x00\x00\x2f\xff\xff\xff\x0f"
      + b"\x00" * 9)
write("image_heif", "ftyp-only", b"\x00\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")

# image_exif: first byte = entry point (0 TIFF, 1 APP1 payload, 2 a whole JPEG), then the bytes.
def tiff(orientation, be, typ=3, count=1, ifd=8, entries=None):
    e = ">" if be else "<"
    head = (b"MM" if be else b"II") + struct.pack(e + "HI", 42, ifd)
    if entries is None:
        entries = [(0x0100, 4, 1, struct.pack(e + "I", 640)), (0x0112, typ, count, struct.pack(e + "HH", orientation, 0))]
    body = struct.pack(e + "H", len(entries)) + b"".join(struct.pack(e + "HHI", t, ty, c) + v for t, ty, c, v in entries)
    # IFD0 right after the header, or where ifd says when that is near (a far offset is the
    # point of its seed: nothing is written there, the file stays small).
    return head + b"\x00" * (ifd - 8 if ifd < 4096 else 0) + body + b"\x00\x00\x00\x00"

for o in range(1, 9):
    for be in (0, 1):
        write("image_exif", f"tiff-{o}-{'mm' if be else 'ii'}", b"\x00" + tiff(o, be))
        write("image_exif", f"app1-{o}-{'mm' if be else 'ii'}", b"\x01Exif\x00\x00" + tiff(o, be))
write("image_exif", "tiff-long-type", b"\x00" + tiff(6, 0, typ=4))
write("image_exif", "tiff-count-2", b"\x00" + tiff(6, 1, count=2))
write("image_exif", "tiff-value-9", b"\x00" + tiff(9, 0))
write("image_exif", "tiff-ifd-far", b"\x00" + tiff(6, 0, ifd=0xfffffff0))
write("image_exif", "tiff-count-lies", b"\x00" + tiff(6, 0)[:10] + b"\xff\xff" + tiff(6, 0)[12:])
write("image_exif", "app1-xmp", b"\x01http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")
# A JPEG (libstb's encoder, as above) with an EXIF APP1 spliced in after SOI.
if "jpg" in dir() and jpg:
    app1 = b"Exif\x00\x00" + tiff(6, 1)
    seg = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    write("image_exif", "jpeg-orientation-6", b"\x02" + jpg[:2] + seg + jpg[2:])
    write("image_decode", "jpeg-exif-orientation-6", b"\x00" + jpg[:2] + seg + jpg[2:])
