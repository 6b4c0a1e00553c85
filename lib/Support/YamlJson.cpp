//===- YamlJson.cpp - YAML documents as JSON values -----------------------===//
#include "qcc/Support/YamlJson.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace llvm;

namespace {

struct Converter {
  SourceMgr &sm;
  std::string error;

  bool fail(yaml::Node *n, const Twine &msg) {
    if (error.empty()) {
      raw_string_ostream os(error);
      sm.PrintMessage(os, n->getSourceRange().Start, SourceMgr::DK_Error, msg);
    }
    return false;
  }

  static json::Value plainScalar(StringRef v) {
    if (v == "true" || v == "True" || v == "TRUE")
      return true;
    if (v == "false" || v == "False" || v == "FALSE")
      return false;
    if (v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL")
      return nullptr;
    int64_t i;
    if (!v.getAsInteger(10, i))
      return i;
    double d;
    if (v.find_first_of("0123456789") != StringRef::npos && !v.getAsDouble(d) &&
        std::isfinite(d))
      return d;
    return v.str();
  }

  bool convert(yaml::Node *n, json::Value &out) {
    if (!n->getAnchor().empty() || isa<yaml::AliasNode>(n))
      return fail(n, "anchors and aliases are not supported");
    if (!n->getRawTag().empty())
      return fail(n, "tags are not supported");
    if (auto *s = dyn_cast<yaml::ScalarNode>(n)) {
      SmallString<64> storage;
      StringRef v = s->getValue(storage);
      StringRef raw = s->getRawValue();
      bool quoted = raw.starts_with("'") || raw.starts_with("\"");
      out = quoted ? json::Value(v.str()) : plainScalar(v);
      return true;
    }
    if (auto *s = dyn_cast<yaml::BlockScalarNode>(n)) {
      out = s->getValue().str();
      return true;
    }
    if (isa<yaml::NullNode>(n)) {
      out = nullptr;
      return true;
    }
    if (auto *seq = dyn_cast<yaml::SequenceNode>(n)) {
      json::Array a;
      for (yaml::Node &item : *seq) {
        json::Value v = nullptr;
        if (!convert(&item, v))
          return false;
        a.push_back(std::move(v));
      }
      out = std::move(a);
      return true;
    }
    if (auto *map = dyn_cast<yaml::MappingNode>(n)) {
      json::Object o;
      for (yaml::KeyValueNode &kv : *map) {
        auto *key = dyn_cast_or_null<yaml::ScalarNode>(kv.getKey());
        if (!key)
          return fail(kv.getKey() ? kv.getKey() : n, "mapping keys must be scalars");
        SmallString<64> storage;
        std::string k = key->getValue(storage).str();
        if (o.find(k) != o.end())
          return fail(key, "duplicate key '" + k + "'");
        json::Value v = nullptr;
        if (!kv.getValue() || !convert(kv.getValue(), v))
          return false;
        o[k] = std::move(v);
      }
      out = std::move(o);
      return true;
    }
    return fail(n, "unsupported YAML node");
  }
};

} // namespace

Expected<json::Value> qcc::parseYamlAsJson(StringRef text, StringRef filename) {
  SourceMgr sm;
  std::string diagnostics;
  sm.setDiagHandler(
      [](const SMDiagnostic &d, void *ctx) {
        auto *out = static_cast<std::string *>(ctx);
        if (out->empty()) {
          raw_string_ostream os(*out);
          d.print(nullptr, os, /*ShowColors=*/false);
        }
      },
      &diagnostics);
  yaml::Stream stream(MemoryBufferRef(text, filename), sm);
  Converter c{sm, {}};
  json::Value result = nullptr;
  bool first = true;
  for (yaml::Document &doc : stream) {
    if (!first) {
      c.fail(doc.getRoot(), "expected a single YAML document");
      break;
    }
    first = false;
    yaml::Node *root = doc.getRoot();
    if (!root || !c.convert(root, result))
      break;
  }
  if (!diagnostics.empty() || stream.failed())
    return createStringError(inconvertibleErrorCode(),
                             diagnostics.empty() ? "invalid YAML" : StringRef(diagnostics).trim());
  if (!c.error.empty())
    return createStringError(inconvertibleErrorCode(), StringRef(c.error).trim());
  return result;
}
