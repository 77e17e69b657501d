// The operators' error messages: "Kind: <argument> (<value>) <rule>".
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "heap.h"
#include "operator.h"

namespace qconv {

namespace {

const char* kind_name(const ConvParams& p) {
  return is_transposed(p) ? "ConvTranspose1d" : "Conv1d";
}

Status fail(Error* error, Status status, const std::string& message) {
  if (error != nullptr) error->message = message;
  return status;
}

}  // namespace

std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e21) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string weight_shape_string(const ConvParams& p) {
  const int64_t a = is_transposed(p) ? p.in_channels : p.out_channels;
  const int64_t b = is_transposed(p) ? p.out_channels / p.groups : p.in_channels / p.groups;
  return "[" + num(static_cast<double>(a)) + ", " + num(static_cast<double>(b)) + ", " +
         num(static_cast<double>(p.kernel_size)) + "]";
}

// "2", or "1 before and 2 after the input", prefixed with "'same': " for
// padding='same'.
std::string padding_string(const ConvParams& p) {
  const int64_t after = padding_after(p);
  std::string s = p.padding_same ? "'same': " : "";
  if (after == p.padding && !p.padding_same) return num(static_cast<double>(p.padding));
  return s + num(static_cast<double>(p.padding)) + " before and " +
         num(static_cast<double>(after)) + " after the input";
}

Status invalid(Error* error, const ConvParams& p, const std::string& message) {
  return fail(error, Status::kInvalidArgument, std::string(kind_name(p)) + ": " + message);
}

Status too_large(Error* error, const ConvParams& p, const std::string& what, uint64_t bytes) {
  return fail(error, Status::kOutOfMemory,
              std::string(kind_name(p)) + ": " + what + " needs " +
                  num(static_cast<double>(bytes)) +
                  " bytes, more than wasm memory can hold (2 GiB)");
}

Status out_of_memory(Error* error, const ConvParams& p, const std::string& what, uint64_t bytes) {
  return fail(error, Status::kOutOfMemory,
              std::string(kind_name(p)) + ": out of memory: needs " +
                  num(static_cast<double>(bytes)) + " bytes for " + what + ", " +
                  num(static_cast<double>(heap_bytes_in_use())) + " in use");
}

}  // namespace qconv
