/* The words the reference editor gives a scene (fleet_editor.h): its name and its description,
 * derived deterministically from the brain's tool call and the image facts, within the contract's
 * bounds (name: one line, 1..BF_SCENE_NAME_MAX bytes; description: 0..BF_SCENE_DESCRIPTION_MAX
 * bytes, newlines allowed, no other control characters). Every function returns a malloc'd string
 * the caller frees, NULL only when out of memory; cuts never split a UTF-8 character. */
#ifndef FLEET_EDITOR_TEXT_H
#define FLEET_EDITOR_TEXT_H

#include <stddef.h>

#include "bf_msg_image_facts.h"

/* Names are short: what a storyboard row shows. */
#define FLEET_NAME_MAX 60
/* One line of a description (an instruction, the facts of an image). */
#define FLEET_LINE_MAX 400

/* text as one line of at most max bytes: lines joined with "; ", runs of blanks as one space,
 * control characters dropped, cut at a word boundary when one is near, "..." marking a cut. */
char *fleet_text_line_new(const char *text, size_t max);

/* The name of a new scene: given (input.name) when it has any text; else the first sentence of
 * the instruction without the request's leading verb and article ("Add a title scene" -> "Title
 * scene"); else "Scene <position + 1>". */
char *fleet_text_scene_name_new(const char *given, const char *instruction, long long position);

/* The name of a scene made from an image: given when it has text; else the image file's name
 * ("https://x/img/warm-sunset.webp" -> "Warm sunset (image)"); else "Image scene <position + 1>". */
char *fleet_text_image_name_new(const char *given, const char *image_url, long long position);

/* The description after adding line: old's lines then line; while over the contract's bound the
 * oldest line after the first (what the scene was made as) goes. old and line may be NULL/"". */
char *fleet_text_describe_new(const char *old, const char *line);

/* What an image shows, as one description line: "Image: warm, energetic mood, landscape 320x180;
 * palette #ff8c28 42%, ...; objects: ...; text: ...". */
char *fleet_text_facts_line_new(const bf_image_facts *f);

#endif
