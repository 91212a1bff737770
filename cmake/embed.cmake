# Writes the bytes of IN into OUT as a C array kopilka_openapi_json (NUL-terminated) and its
# length kopilka_openapi_json_len. Run with cmake -DIN=... -DOUT=... -P embed.cmake.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR n "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from api/openapi.json by cmake/embed.cmake; do not edit. */\n"
  "#include <stddef.h>\n"
  "const unsigned char kopilka_openapi_json[] = {\n${bytes}0x00};\n"
  "const size_t kopilka_openapi_json_len = ${n};\n")
