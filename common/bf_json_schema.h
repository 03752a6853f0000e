/* A JSON Schema validator for the subset of draft 2020-12 the project's own schemas use: the tool
 * argument schemas (schemas/tools/) the brain validates every model answer with, and the OpenAI
 * chat-completions request schema the test fake checks every request against. No Debian package
 * validates JSON Schema from C, so this is small and strict instead of complete:
 *
 *   validation: type (a name or a list), enum, const, properties, required, additionalProperties
 *               (boolean or schema), items, minItems, maxItems, minLength, maxLength (in code
 *               points), minimum, maximum, exclusiveMinimum, exclusiveMaximum, minProperties,
 *               maxProperties, allOf, anyOf, oneOf, not, $ref (to "#" or a JSON pointer inside
 *               the same document), $defs;
 *   annotations, ignored: $schema, $id, $comment, title, description, default, examples,
 *               deprecated, format, readOnly, writeOnly and any "x-..." extension.
 *
 * Any other keyword is refused when the schema is loaded ("pattern is not supported"), so a
 * schema can never carry a rule this validator would silently skip. Errors name the first problem
 * with its place: "arguments.duration_ms: expected integer, got string". */
#ifndef BF_JSON_SCHEMA_H
#define BF_JSON_SCHEMA_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct bf_json_schema bf_json_schema;

/* Parses and checks a schema document (every keyword known, every $ref resolvable). Returns the
 * schema (caller frees with bf_json_schema_free) or NULL with err. */
bf_json_schema *bf_json_schema_new(const char *text, size_t len, char *err, size_t errlen);
void bf_json_schema_free(bf_json_schema *s);

/* The parsed document (owned by s). */
const cJSON *bf_json_schema_doc(const bf_json_schema *s);

/* Validates instance against the schema at pointer (NULL or "#": the root; "#/$defs/X": a
 * definition). root names the instance in messages ("arguments", "request"). Returns 0, or -1
 * with "<root><path>: <reason>" in err. */
int bf_json_schema_check(const bf_json_schema *s, const char *pointer, const cJSON *instance, const char *root,
                         char *err, size_t errlen);

/* The JSON type name of v as JSON Schema spells it ("integer" for an integral number). */
const char *bf_json_schema_type_name(const cJSON *v);

#endif
