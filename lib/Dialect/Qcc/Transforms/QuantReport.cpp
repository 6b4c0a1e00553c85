//===- QuantReport.cpp - per-layer quantization records --------------------===//
#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;

llvm::json::Array qcc::collectQuantReport(ModuleOp module) {
  llvm::json::Array layers;
  module.walk([&](Operation *op) {
    auto rec = op->getAttrOfType<DictionaryAttr>("qcc.quant_report");
    if (!rec)
      return;
    llvm::json::Object o;
    for (NamedAttribute a : rec) {
      std::string key = a.getName().str();
      if (auto s = dyn_cast<StringAttr>(a.getValue()))
        o[key] = s.getValue().str();
      else if (auto f = dyn_cast<FloatAttr>(a.getValue()))
        o[key] = std::isfinite(f.getValueAsDouble()) ? llvm::json::Value(f.getValueAsDouble())
                                                     : llvm::json::Value(nullptr);
      else if (auto d = dyn_cast<DenseI64ArrayAttr>(a.getValue()))
        o[key] = llvm::json::Array(d.asArrayRef());
    }
    layers.push_back(std::move(o));
  });
  return layers;
}

void qcc::printQuantReport(const llvm::json::Array &layers, llvm::raw_ostream &os) {
  bool measured = llvm::any_of(layers, [](const llvm::json::Value &v) {
    return v.getAsObject()->get("measured_sqnr_db") != nullptr;
  });
  os << llvm::formatv("{0,-28} {1,-12} {2,-40} {3,-5} {4,10} {5,12} {6,18}", "layer", "K x N",
                      "scheme", "algo", "w SQNR dB", "out SQNR dB", "act range (clip)");
  if (measured)
    os << llvm::formatv(" {0,13}", "measured dB");
  os << "\n";
  for (const llvm::json::Value &v : layers) {
    const llvm::json::Object &o = *v.getAsObject();
    std::string shape;
    if (const llvm::json::Array *s = o.getArray("shape"))
      if (s->size() == 2)
        shape = llvm::formatv("{0}x{1}", *(*s)[0].getAsInteger(), *(*s)[1].getAsInteger());
    auto db = [&](StringRef key) -> std::string {
      const llvm::json::Value *v = o.get(key);
      if (!v)
        return "-";
      if (auto d = v->getAsNumber())
        return llvm::formatv("{0:f2}", *d).str();
      return "exact";
    };
    bool isFloat = o.getString("scheme") == std::optional<StringRef>("float");
    std::string range = "-";
    if (auto r = o.getNumber("act_range"))
      range = llvm::formatv("{0:g4} ({1:f2}%)", *r, 100 * o.getNumber("act_clipped").value_or(0));
    os << llvm::formatv("{0,-28} {1,-12} {2,-40} {3,-5} {4,10} {5,12} {6,18}",
                        o.getString("layer").value_or(""), shape,
                        o.getString("scheme").value_or(""), o.getString("algo").value_or(""),
                        isFloat ? std::string("-") : db("weight_sqnr_db"),
                        isFloat ? std::string("-") : db("output_sqnr_db"), range);
    if (measured)
      os << llvm::formatv(" {0,13}", db("measured_sqnr_db"));
    if (auto note = o.getString("note"))
      os << "  (" << *note << ")";
    os << "\n";
  }
}

void qcc::printQuantEvaluation(const llvm::json::Object &summary, llvm::raw_ostream &os) {
  const llvm::json::Object *e = summary.getObject("evaluation");
  if (!e)
    return;
  int64_t samples = e->getInteger("samples").value_or(0);
  if (const llvm::json::Array *outputs = e->getArray("outputs"))
    for (const llvm::json::Value &v : *outputs) {
      const llvm::json::Object &o = *v.getAsObject();
      os << llvm::formatv("output '{0}' vs float on {1} sample{2}: cosine mean {3:f5}, min {4:f5}",
                          o.getString("name").value_or(""), samples, samples == 1 ? "" : "s",
                          o.getNumber("cosine_mean").value_or(0),
                          o.getNumber("cosine_min").value_or(0));
      if (auto kl = o.getNumber("next_token_kl_mean"))
        os << llvm::formatv("; next-token KL mean {0:g4}, max {1:g4}", *kl,
                            o.getNumber("next_token_kl_max").value_or(0));
      os << "\n";
    }
}
