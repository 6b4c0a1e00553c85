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
  os << llvm::formatv("{0,-28} {1,-12} {2,-38} {3,-5} {4,10} {5,12} {6,18}\n", "layer", "K x N",
                      "scheme", "algo", "w SQNR dB", "out SQNR dB", "act range (clip)");
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
    os << llvm::formatv("{0,-28} {1,-12} {2,-38} {3,-5} {4,10} {5,12} {6,18}",
                        o.getString("layer").value_or(""), shape,
                        o.getString("scheme").value_or(""), o.getString("algo").value_or(""),
                        isFloat ? std::string("-") : db("weight_sqnr_db"),
                        isFloat ? std::string("-") : db("output_sqnr_db"), range);
    if (auto note = o.getString("note"))
      os << "  (" << *note << ")";
    os << "\n";
  }
}
