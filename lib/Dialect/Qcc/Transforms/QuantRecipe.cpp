//===- QuantRecipe.cpp - per-layer quantization overrides -----------------===//
//
// A recipe is JSON: {"rules": [{"match": "<glob>" | "re:<regex>", ...}]}
// with, per rule, any of "float": true, "bits": 4|8, "group": <power of
// two> | "per-channel", "asym": bool, "algo": "rtn"|"mse". The first rule
// whose pattern matches a layer's name (the whole name) applies to it.
//
//===----------------------------------------------------------------------===//
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/Regex.h"

using namespace mlir;

namespace {
struct Rule {
  std::string pattern;
  std::optional<llvm::GlobPattern> glob;
  std::optional<llvm::Regex> regex;
  NamedAttrList settings;
  int64_t matched = 0, shadowed = 0;

  bool matches(StringRef name) const {
    if (glob)
      return glob->match(name);
    return regex->match(name);
  }
};
} // namespace

LogicalResult qcc::applyQuantRecipe(ModuleOp module, const llvm::json::Value &recipe) {
  Location loc = module.getLoc();
  MLIRContext *ctx = module.getContext();
  Builder b(ctx);
  auto fail = [&](const Twine &msg) { return emitError(loc) << "recipe: " << msg, failure(); };
  const llvm::json::Array *rules = recipe.getAsArray();
  if (const llvm::json::Object *o = recipe.getAsObject()) {
    for (auto &kv : *o)
      if (kv.first != "rules")
        return fail("unknown top-level key '" + kv.first.str() + "' (expected \"rules\")");
    rules = o->getArray("rules");
  }
  if (!rules)
    return fail("expected {\"rules\": [...]} or a list of rules");
  std::vector<Rule> parsed;
  for (auto [i, v] : llvm::enumerate(*rules)) {
    std::string where = "rule " + std::to_string(i + 1);
    const llvm::json::Object *o = v.getAsObject();
    if (!o)
      return fail(where + " is not an object");
    Rule r;
    std::optional<StringRef> match = o->getString("match");
    if (!match)
      return fail(where + " has no \"match\" string");
    r.pattern = match->str();
    where += " ('" + r.pattern + "')";
    if (match->starts_with("re:")) {
      std::string error;
      r.regex.emplace(("^(" + match->drop_front(3) + ")$").str());
      if (!r.regex->isValid(error))
        return fail(where + ": bad regular expression: " + error);
    } else {
      auto glob = llvm::GlobPattern::create(*match);
      if (!glob)
        return fail(where + ": bad glob: " + llvm::toString(glob.takeError()));
      r.glob = std::move(*glob);
    }
    for (auto &kv : *o) {
      StringRef key = kv.first;
      const llvm::json::Value &val = kv.second;
      if (key == "match")
        continue;
      if (key == "float") {
        if (!val.getAsBoolean())
          return fail(where + ": \"float\" must be true or false");
        if (*val.getAsBoolean())
          r.settings.set("float", b.getUnitAttr());
      } else if (key == "bits") {
        std::optional<int64_t> n = val.getAsInteger();
        if (!n || (*n != 4 && *n != 8))
          return fail(where + ": " +
                      (n ? std::to_string(*n) + "-bit weights are not supported"
                         : std::string("\"bits\" must be an integer")) +
                      "; qcc's weight schemes hold 4 or 8 bits");
        r.settings.set("bits", b.getI64IntegerAttr(*n));
      } else if (key == "group") {
        int64_t g = 0;
        if (auto s = val.getAsString(); s && *s == "per-channel")
          g = 0;
        else if (auto n = val.getAsInteger(); n && *n >= 2 && !(*n & (*n - 1)))
          g = *n;
        else
          return fail(where + ": \"group\" must be a power of two >= 2 or \"per-channel\"");
        r.settings.set("group", b.getI64IntegerAttr(g));
      } else if (key == "asym") {
        if (!val.getAsBoolean())
          return fail(where + ": \"asym\" must be true or false");
        r.settings.set("asym", b.getBoolAttr(*val.getAsBoolean()));
      } else if (key == "algo") {
        auto s = val.getAsString();
        if (!s || (*s != "rtn" && *s != "mse" && *s != "gptq" && *s != "awq"))
          return fail(where + ": \"algo\" must be \"rtn\", \"mse\", \"gptq\" or \"awq\"");
        r.settings.set("algo", b.getStringAttr(*s));
      } else {
        return fail(where + ": unknown key '" + key.str() +
                    "' (match, float, bits, group, asym, algo)");
      }
    }
    r.settings.set("rule", b.getStringAttr(std::to_string(i + 1) + " ('" + r.pattern + "')"));
    parsed.push_back(std::move(r));
  }
  std::vector<std::string> names;
  module.walk([&](func::FuncOp f) {
    int64_t index = 0;
    f.walk([&](MatMulOp op) {
      if (!isQuantizableLinear(op))
        return;
      std::string name = linearLayerName(op, index++);
      names.push_back(name);
      bool taken = false;
      for (Rule &r : parsed)
        if (r.matches(name)) {
          if (taken) {
            ++r.shadowed;
            continue;
          }
          taken = true;
          ++r.matched;
          op->setAttr("qcc.quant_override", r.settings.getDictionary(ctx));
        }
    });
  });
  for (auto [i, r] : llvm::enumerate(parsed)) {
    if (!r.matched && r.shadowed)
      return fail("rule " + std::to_string(i + 1) + " ('" + r.pattern +
                  "') only matches layers earlier rules already set (the first "
                  "matching rule applies)");
    if (!r.matched) {
      std::string some;
      for (size_t j = 0; j < names.size() && j < 5; ++j)
        some += (j ? ", " : "") + names[j];
      return fail("rule " + std::to_string(i + 1) + " ('" + r.pattern +
                  "') matches no linear layer (layers are named like: " + some +
                  (names.size() > 5 ? ", ..." : "") + ")");
    }
  }
  return success();
}
