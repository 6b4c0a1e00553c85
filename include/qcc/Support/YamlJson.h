//===- YamlJson.h - YAML documents as JSON values ---------------*- C++ -*-===//
#ifndef QCC_SUPPORT_YAMLJSON_H
#define QCC_SUPPORT_YAMLJSON_H

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace qcc {

/// Parses one YAML document into the JSON value it denotes, so YAML and JSON
/// configuration files share one reader. Plain scalars are typed as in the
/// YAML 1.2 core schema (true/false, null/~, integers, floats, else
/// strings); quoted scalars are strings. Anchors, aliases and tags are
/// rejected. Errors name `filename` with line and column.
llvm::Expected<llvm::json::Value> parseYamlAsJson(llvm::StringRef text,
                                                  llvm::StringRef filename);

} // namespace qcc

#endif
