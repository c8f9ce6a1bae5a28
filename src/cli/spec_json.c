/* spec_json.c -- placeholder. */
typedef int tg_placeholder_spec_json;
