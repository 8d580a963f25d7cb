// lib/core/json_util.hpp: small helpers shared by the JSON readers of libmos
// (spaces, archs, safetensors headers): reading a whole file with a precise
// I/O error, and type-checked field access whose errors name the field path.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mos {

// The whole file as bytes. Throws MOS_IO "cannot open 'path': strerror".
std::string read_text_file(const std::string &path);

// Deepest nesting of objects and arrays parse_json accepts by default: the
// library's own JSON nests at most four levels (a latency-dataset header holds
// a space, which holds lists); a few more leave room, and a bound keeps a
// hostile "[[[[..." from costing memory.
constexpr int kJsonMaxDepth = 16;

// Parse JSON text strictly. MOS_FORMAT "<what>: ..." for a syntax error, a key
// repeated in one object (naming the key and the object's path, e.g.
// "space: duplicate key 'layers' in encoder": nlohmann would silently keep the
// last), or objects and arrays nested deeper than max_depth.
nlohmann::json parse_json(std::string_view text, const std::string &what, int max_depth = kJsonMaxDepth);

// Throws MOS_FORMAT "<path>: unknown field 'x'" for a key not in `allowed`.
void check_known_keys(const nlohmann::json &obj, const std::string &path,
                      const std::vector<std::string> &allowed);

// The member `key` of object `obj` (at JSON path `path`) as an int in [lo, hi];
// missing, non-integer or out of range: MOS_FORMAT naming path.key.
int json_int(const nlohmann::json &obj, const std::string &path, const char *key,
             long long lo, long long hi);
// The member `key` as an object; MOS_FORMAT if missing or not an object.
const nlohmann::json &json_object(const nlohmann::json &obj, const std::string &path,
                                  const char *key);
// The member `key` as an array; MOS_FORMAT if missing or not an array.
const nlohmann::json &json_array(const nlohmann::json &obj, const std::string &path,
                                 const char *key);
// The member `key` as an array of ints in [lo, hi].
std::vector<int> json_int_list(const nlohmann::json &obj, const std::string &path,
                               const char *key, long long lo, long long hi);

// A JSON value for an error message: its compact text, cut to about 60 bytes
// (on a UTF-8 character boundary) with "..." so that a huge value in a
// malformed file cannot make a huge message.
std::string json_brief(const nlohmann::json &v);

// "[1, 2, 3]": a compact JSON array of ints for the canonical writers.
std::string json_int_array(const std::vector<int> &v);
// A JSON string literal with escapes.
std::string json_quote(const std::string &s);

}  // namespace mos
