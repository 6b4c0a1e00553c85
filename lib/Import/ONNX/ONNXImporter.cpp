//===- ONNXImporter.cpp - walk an ONNX graph into a qcc function ----------===//
#include "ImporterImpl.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace qcc::onnx_import {

//===----------------------------------------------------------------------===//
// Node inputs, outputs and attributes
//===----------------------------------------------------------------------===//

size_t GraphImporter::numInputs() const { return node->input_size(); }

Entry *GraphImporter::input(size_t i) {
  if (i >= (size_t)node->input_size() || node->input(i).empty())
    return nullptr;
  auto it = values.find(node->input(i));
  return it == values.end() ? nullptr : &it->second;
}

FailureOr<Entry *> GraphImporter::requiredInput(size_t i) {
  if (Entry *e = input(i))
    return e;
  error() << "missing required input " << i;
  return failure();
}

FailureOr<Value> GraphImporter::inputValue(size_t i) {
  FailureOr<Entry *> e = requiredInput(i);
  if (failed(e))
    return failure();
  return materialize(**e);
}

bool GraphImporter::hasOutput(size_t i) const {
  return i < (size_t)node->output_size() && !node->output(i).empty();
}

void GraphImporter::setOutput(size_t i, Value v, int32_t dtype) {
  Entry e;
  e.value = v;
  e.dtype = dtype;
  setOutput(i, std::move(e));
}

void GraphImporter::setOutput(size_t i, Entry e) {
  if (hasOutput(i))
    values[node->output(i)] = std::move(e);
}

const onnx::AttributeProto *GraphImporter::attr(StringRef name) const {
  for (const auto &a : node->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t GraphImporter::attrInt(StringRef name, int64_t dflt) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : dflt;
}

float GraphImporter::attrFloat(StringRef name, float dflt) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : dflt;
}

std::string GraphImporter::attrString(StringRef name, StringRef dflt) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : dflt.str();
}

std::optional<SmallVector<int64_t>>
GraphImporter::attrInts(StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

InFlightDiagnostic GraphImporter::error() {
  return emitError(loc) << "node '" << node->name() << "' ("
                        << (node->domain().empty() ? "" : node->domain() + ".")
                        << node->op_type() << "): ";
}

//===----------------------------------------------------------------------===//
// Values and shape arithmetic
//===----------------------------------------------------------------------===//

Value GraphImporter::indexConst(int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

Value GraphImporter::dimIndex(const DimValue &d) {
  return d.isConstant() ? indexConst(d.constant) : d.value;
}

SmallVector<DimValue> GraphImporter::dimsOf(Value tensor) {
  auto t = cast<RankedTensorType>(tensor.getType());
  SmallVector<DimValue> dims;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (t.isDynamicDim(i)) {
      Value &d = dimCache[{tensor, i}];
      if (!d) {
        // Dims are created right after their tensor so every later use is
        // dominated.
        OpBuilder::InsertionGuard g(b);
        if (Operation *def = tensor.getDefiningOp())
          b.setInsertionPointAfter(def);
        else
          b.setInsertionPointToStart(cast<BlockArgument>(tensor).getOwner());
        d = b.create<DimOp>(loc, tensor, i);
      }
      dims.push_back({0, d});
    } else {
      dims.push_back({t.getDimSize(i), nullptr});
    }
  }
  return dims;
}

RankedTensorType GraphImporter::typeFromDims(ArrayRef<DimValue> dims, Type elt,
                                             SmallVectorImpl<Value> &dyn) {
  SmallVector<int64_t> shape;
  for (const DimValue &d : dims) {
    if (d.isConstant()) {
      shape.push_back(d.constant);
    } else {
      shape.push_back(ShapedType::kDynamic);
      dyn.push_back(d.value);
    }
  }
  return RankedTensorType::get(shape, elt);
}

DimValue GraphImporter::dimArith(char op, const DimValue &x, const DimValue &y) {
  if (x.isConstant() && y.isConstant()) {
    int64_t a = x.constant, c = y.constant;
    switch (op) {
    case '+': return {a + c, nullptr};
    case '-': return {a - c, nullptr};
    case '*': return {a * c, nullptr};
    case '/': return {c == 0 ? 0 : a / c, nullptr};
    case '%': return {c == 0 ? 0 : a % c, nullptr};
    }
  }
  // Identities keep shapes static-looking where the math allows.
  if (op == '*' && y.isConstant() && y.constant == 1) return x;
  if (op == '*' && x.isConstant() && x.constant == 1) return y;
  if ((op == '+' || op == '-') && y.isConstant() && y.constant == 0) return x;
  if (op == '/' && y.isConstant() && y.constant == 1) return x;
  Value a = dimIndex(x), c = dimIndex(y);
  Value r;
  switch (op) {
  case '+': r = b.create<arith::AddIOp>(loc, a, c); break;
  case '-': r = b.create<arith::SubIOp>(loc, a, c); break;
  case '*': r = b.create<arith::MulIOp>(loc, a, c); break;
  case '/': r = b.create<arith::FloorDivSIOp>(loc, a, c); break;
  default: r = b.create<arith::RemSIOp>(loc, a, c); break;
  }
  return {0, r};
}

Value GraphImporter::materialize(Entry &e) {
  if (e.value)
    return e.value;
  assert(e.known && "entry has neither a value nor known elements");
  Type elt = dtypeToType(ctx, e.dtype);
  bool allConst = llvm::all_of(*e.known, [](auto &d) { return d.isConstant(); });
  SmallVector<int64_t> shape;
  if (!e.knownIsScalar)
    shape.push_back(e.known->size());
  auto type = RankedTensorType::get(shape, elt);
  OpBuilder::InsertionGuard g(b);
  if (allConst) {
    SmallVector<APInt> vals;
    for (auto &d : *e.known)
      vals.push_back(APInt(elt.getIntOrFloatBitWidth(), d.constant, true));
    e.value = constantTensor(DenseElementsAttr::get(type, vals));
    return e.value;
  }
  SmallVector<Value> elems;
  for (auto &d : *e.known)
    elems.push_back(b.create<arith::IndexCastOp>(loc, elt, dimIndex(d)));
  e.value = b.create<tensor::FromElementsOp>(loc, type, elems);
  return e.value;
}

std::optional<SmallVector<DimValue>> GraphImporter::knownInts(Entry &e) {
  if (e.known)
    return e.known;
  if (e.constant && isa<IntegerType>(e.constant.getElementType()) &&
      e.constant.getType().getRank() <= 1 &&
      e.constant.getNumElements() <= 4096) {
    SmallVector<DimValue> out;
    bool isUnsigned = isUnsignedDType(e.dtype);
    for (const APInt &v : e.constant.getValues<APInt>())
      out.push_back({isUnsigned ? (int64_t)v.getZExtValue() : v.getSExtValue(),
                     nullptr});
    return out;
  }
  return std::nullopt;
}

std::optional<SmallVector<int64_t>> GraphImporter::constInts(Entry &e) {
  std::optional<SmallVector<DimValue>> k = knownInts(e);
  if (!k)
    return std::nullopt;
  SmallVector<int64_t> out;
  for (auto &d : *k) {
    if (!d.isConstant())
      return std::nullopt;
    out.push_back(d.constant);
  }
  return out;
}

std::optional<SmallVector<double>> GraphImporter::constFloats(Entry &e) {
  if (!e.constant || !isa<FloatType>(e.constant.getElementType()))
    return std::nullopt;
  SmallVector<double> out;
  for (const APFloat &v : e.constant.getValues<APFloat>())
    out.push_back(v.convertToDouble());
  return out;
}

Value GraphImporter::constantTensor(DenseElementsAttr attr) {
  return b.create<arith::ConstantOp>(loc, attr);
}

Value GraphImporter::scalarConstant(Type elt, double v) {
  auto type = RankedTensorType::get({}, elt);
  if (isa<FloatType>(elt))
    return constantTensor(DenseElementsAttr::get(
        type, b.getFloatAttr(elt, v)));
  return constantTensor(
      DenseElementsAttr::get(type, b.getIntegerAttr(elt, (int64_t)v)));
}

FailureOr<int64_t> GraphImporter::normalizeAxis(int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    error() << "axis " << axis << " is out of range for rank " << rank;
    return failure();
  }
  return a;
}

Value GraphImporter::reshapeTo(Value v, ArrayRef<DimValue> dims) {
  SmallVector<Value> dyn;
  auto elt = cast<RankedTensorType>(v.getType()).getElementType();
  RankedTensorType type = typeFromDims(dims, elt, dyn);
  if (type == v.getType() && dyn.empty())
    return v;
  return b.create<ReshapeOp>(loc, type, v, dyn);
}

Value GraphImporter::transpose(Value v, ArrayRef<int64_t> perm) {
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(t.getDimSize(p));
  return b.create<TransposeOp>(loc, RankedTensorType::get(shape, t.getElementType()),
                               v, b.getDenseI64ArrayAttr(perm));
}

//===----------------------------------------------------------------------===//
// Graph walk
//===----------------------------------------------------------------------===//

namespace {
struct GraphInput {
  std::string name;
  int32_t dtype;
  RankedTensorType type;
  ArrayAttr dimNames;
};
} // namespace

static FailureOr<GraphInput> importValueInfo(const onnx::ValueInfoProto &vi,
                                             MLIRContext *ctx,
                                             const ImportOptions &opts,
                                             Location loc) {
  Builder b(ctx);
  if (!vi.has_type() || !vi.type().has_tensor_type())
    return emitError(loc) << "graph input '" << vi.name()
                          << "' is not a tensor (sequences, maps and optionals "
                             "are not supported)",
           failure();
  const auto &tt = vi.type().tensor_type();
  GraphInput in;
  in.name = vi.name();
  in.dtype = tt.elem_type();
  Type elt = dtypeToType(ctx, in.dtype);
  if (!elt)
    return emitError(loc) << "graph input '" << vi.name()
                          << "' has unsupported element type "
                          << dtypeName(in.dtype) << " (" << in.dtype << ")",
           failure();
  if (!tt.has_shape())
    return emitError(loc) << "graph input '" << vi.name()
                          << "' has no shape; its rank must be known",
           failure();
  SmallVector<int64_t> shape;
  SmallVector<Attribute> names;
  for (auto [i, d] : llvm::enumerate(tt.shape().dim())) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0 || d.dim_value() > (int64_t(1) << 40))
        return emitError(loc) << "graph input '" << vi.name() << "' dim " << i
                              << " has invalid size " << d.dim_value(),
               failure();
      shape.push_back(d.dim_value());
      names.push_back(b.getI64IntegerAttr(d.dim_value()));
      continue;
    }
    std::string name = d.has_dim_param() && !d.dim_param().empty()
                           ? d.dim_param()
                           : vi.name() + "_dim" + std::to_string(i);
    auto fixed = opts.dimValues.find(name);
    if (fixed != opts.dimValues.end()) {
      shape.push_back(fixed->second);
      names.push_back(b.getI64IntegerAttr(fixed->second));
    } else {
      shape.push_back(ShapedType::kDynamic);
      names.push_back(b.getStringAttr(name));
    }
  }
  in.type = RankedTensorType::get(shape, elt);
  in.dimNames = b.getArrayAttr(names);
  return in;
}

/// Orders nodes so every input is produced before use; reports cycles and
/// names no node produces.
static FailureOr<std::vector<const onnx::NodeProto *>>
sortNodes(const onnx::GraphProto &g, const llvm::StringSet<> &available,
          Location fileLoc) {
  llvm::StringMap<int> producer;
  for (int i = 0; i < g.node_size(); ++i)
    for (const std::string &o : g.node(i).output())
      if (!o.empty()) {
        if (available.contains(o) || !producer.try_emplace(o, i).second)
          return emitError(fileLoc) << "value '" << o
                                    << "' is defined more than once (node '"
                                    << g.node(i).name() << "')",
                 failure();
      }
  std::vector<int> state(g.node_size(), 0); // 0 new, 1 visiting, 2 done
  std::vector<const onnx::NodeProto *> order;
  // Iterative DFS so hostile graphs cannot overflow the stack.
  for (int root = 0; root < g.node_size(); ++root) {
    if (state[root])
      continue;
    std::vector<std::pair<int, int>> stack{{root, 0}};
    state[root] = 1;
    while (!stack.empty()) {
      auto &[n, next] = stack.back();
      const onnx::NodeProto &node = g.node(n);
      if (next < node.input_size()) {
        const std::string &in = node.input(next++);
        if (in.empty() || available.contains(in))
          continue;
        auto it = producer.find(in);
        if (it == producer.end())
          return emitError(NameLoc::get(StringAttr::get(fileLoc.getContext(),
                                                        node.name()),
                                        fileLoc))
                     << "node '" << node.name() << "' (" << node.op_type()
                     << ") uses '" << in
                     << "', which no node, input or initializer defines",
                 failure();
        int p = it->second;
        if (state[p] == 1)
          return emitError(fileLoc) << "graph has a cycle through node '"
                                    << g.node(p).name() << "' ("
                                    << g.node(p).op_type() << ")",
                 failure();
        if (state[p] == 0) {
          state[p] = 1;
          stack.push_back({p, 0});
        }
        continue;
      }
      state[n] = 2;
      order.push_back(&node);
      stack.pop_back();
    }
  }
  return order;
}

FailureOr<OwningOpRef<ModuleOp>> importONNXFile(MLIRContext &context,
                                                StringRef path,
                                                const ImportOptions &options) {
  context.loadDialect<QccDialect, func::FuncDialect, arith::ArithDialect,
                      tensor::TensorDialect>();
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  onnx::ModelProto model;
  if (failed(loadModel(path, model, fileLoc)))
    return failure();

  int64_t opset = -1;
  for (const auto &imp : model.opset_import())
    if (imp.domain().empty() || imp.domain() == "ai.onnx")
      opset = imp.version();
  if (opset < 0)
    return emitError(fileLoc) << "model imports no default-domain (ai.onnx) "
                                 "opset",
           failure();
  if (opset < kMinSupportedOpset || opset > kMaxSupportedOpset)
    return emitError(fileLoc) << "model uses ai.onnx opset " << opset
                              << "; supported opsets are "
                              << kMinSupportedOpset << " to "
                              << kMaxSupportedOpset,
           failure();

  const onnx::GraphProto &g = model.graph();
  SmallString<256> modelDir(llvm::sys::path::parent_path(path));
  if (modelDir.empty())
    modelDir = ".";

  OpBuilder builder(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  module->getOperation()->setAttr("qcc.source",
                                  builder.getStringAttr(
                                      llvm::sys::path::filename(path)));
  GraphImporter imp(&context, builder, modelDir.str().str(), opset);

  // Initializers first: graph inputs that share a name are constants (old
  // IR versions list them as inputs too).
  llvm::StringSet<> available;
  SmallVector<std::pair<std::string, LoadedTensor>> inits;
  for (const onnx::TensorProto &t : g.initializer()) {
    Location loc = NameLoc::get(builder.getStringAttr(t.name()), fileLoc);
    FailureOr<LoadedTensor> lt = decodeTensor(t, imp.modelDir, &context, loc);
    if (failed(lt))
      return failure();
    if (!available.insert(t.name()).second)
      return emitError(loc) << "initializer '" << t.name()
                            << "' is defined twice",
             failure();
    inits.push_back({t.name(), std::move(*lt)});
  }
  if (g.sparse_initializer_size())
    return emitError(fileLoc) << "sparse initializers are not supported",
           failure();

  SmallVector<GraphInput> inputs;
  for (const onnx::ValueInfoProto &vi : g.input()) {
    if (available.contains(vi.name()))
      continue;
    Location loc = NameLoc::get(builder.getStringAttr(vi.name()), fileLoc);
    FailureOr<GraphInput> in = importValueInfo(vi, &context, options, loc);
    if (failed(in))
      return failure();
    if (!available.insert(in->name).second)
      return emitError(loc) << "graph input '" << in->name
                            << "' is listed twice",
             failure();
    inputs.push_back(std::move(*in));
  }

  SmallVector<Type> argTypes;
  for (auto &in : inputs)
    argTypes.push_back(in.type);
  auto func = func::FuncOp::create(
      fileLoc, options.functionName,
      builder.getFunctionType(argTypes, {}));
  module->push_back(func);
  Block *entry = func.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  // Inputs that name the same symbolic dim share one SSA value for it, so
  // shape arithmetic sees that "seq" of two inputs is the same size.
  llvm::StringMap<Value> namedDims;
  for (auto [i, in] : llvm::enumerate(inputs)) {
    func.setArgAttr(i, "qcc.name", builder.getStringAttr(in.name));
    func.setArgAttr(i, "qcc.dims", in.dimNames);
    func.setArgAttr(i, "qcc.dtype", builder.getI32IntegerAttr(in.dtype));
    for (auto [d, name] : llvm::enumerate(in.dimNames)) {
      auto str = dyn_cast<StringAttr>(name);
      if (!str)
        continue;
      Value &canon = namedDims[str.getValue()];
      if (!canon) {
        imp.loc = NameLoc::get(str, fileLoc);
        canon = builder.create<DimOp>(imp.loc, entry->getArgument(i), d);
      }
      imp.dimCache[{entry->getArgument(i), (int64_t)d}] = canon;
    }
    Entry e;
    e.value = entry->getArgument(i);
    e.dtype = in.dtype;
    imp.values[in.name] = std::move(e);
  }
  for (auto &[name, lt] : inits) {
    imp.loc = NameLoc::get(builder.getStringAttr(name), fileLoc);
    Entry e;
    e.dtype = lt.dtype;
    e.constant = lt.value;
    e.knownIsScalar = lt.value.getType().getRank() == 0;
    e.value = imp.constantTensor(lt.value);
    imp.values[name] = std::move(e);
  }

  FailureOr<std::vector<const onnx::NodeProto *>> order =
      sortNodes(g, available, fileLoc);
  if (failed(order))
    return failure();

  for (const onnx::NodeProto *node : *order) {
    imp.node = node;
    std::string label = node->name().empty()
                            ? (node->output_size() ? node->output(0) : "")
                            : node->name();
    imp.loc = NameLoc::get(builder.getStringAttr(label), fileLoc);
    ConvertFn fn = lookupConverter(node->domain(), node->op_type());
    if (!fn) {
      imp.error() << "unsupported operator " << node->op_type()
                  << " in domain '"
                  << (node->domain().empty() ? "ai.onnx" : node->domain())
                  << "' (model opset " << opset << ")";
      return failure();
    }
    if (failed(fn(imp, *node)))
      return failure();
    for (int i = 0; i < node->output_size(); ++i)
      if (!node->output(i).empty() && !imp.values.count(node->output(i))) {
        imp.error() << "output " << i << " ('" << node->output(i)
                    << "') is not supported by the importer";
        return failure();
      }
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const onnx::ValueInfoProto &vi : g.output()) {
    auto it = imp.values.find(vi.name());
    if (it == imp.values.end())
      return emitError(fileLoc) << "graph output '" << vi.name()
                                << "' is not produced by any node",
             failure();
    imp.loc = NameLoc::get(builder.getStringAttr(vi.name()), fileLoc);
    Value v = imp.materialize(it->second);
    results.push_back(v);
    resultTypes.push_back(v.getType());
  }
  auto returnOp = builder.create<func::ReturnOp>(fileLoc, results);
  // Names an undeclared dynamic output dim after the input dim it equals,
  // by tracing a temporary qcc.dim through its producers (the DimOp
  // canonicalization). Only temporaries are rewritten; the imported IR is not.
  RewritePatternSet dimPatterns(&context);
  DimOp::getCanonicalizationPatterns(dimPatterns, &context);
  FrozenRewritePatternSet frozenDims(std::move(dimPatterns));
  auto traceDimName = [&](Value v, int64_t d) -> StringAttr {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(returnOp);
    Value tensor = v;
    int64_t index = d;
    StringAttr name;
    for (int step = 0; step < 256; ++step) {
      if (auto arg = dyn_cast<BlockArgument>(tensor)) {
        if (auto dims = func.getArgAttrOfType<ArrayAttr>(arg.getArgNumber(), "qcc.dims"))
          if ((int64_t)dims.size() > index)
            name = dyn_cast<StringAttr>(dims[index]);
        break;
      }
      auto probe = builder.create<DimOp>(fileLoc, tensor, index);
      auto holder = builder.create<arith::IndexCastOp>(fileLoc, builder.getI64Type(),
                                                       probe.getResult());
      bool changed = false;
      GreedyRewriteConfig config;
      config.strictMode = GreedyRewriteStrictness::ExistingOps;
      (void)applyOpPatternsAndFold({probe.getOperation()}, frozenDims, config, &changed);
      Value replacement = holder.getIn();
      auto next = replacement.getDefiningOp<DimOp>();
      bool moved = changed && next && next != probe;
      if (moved) {
        tensor = next.getInput();
        index = next.getIndex();
      }
      holder.erase();
      if (next && next->use_empty() && next != probe)
        next->erase();
      if (!changed) {
        probe.erase();
        break;
      }
      if (!moved)
        break;
    }
    return name;
  };
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (auto [i, vi] : llvm::enumerate(g.output())) {
    func.setResultAttr(i, "qcc.name", builder.getStringAttr(vi.name()));
    func.setResultAttr(i, "qcc.dtype",
                       builder.getI32IntegerAttr(imp.values[vi.name()].dtype));
    // Symbolic output dims: the names the model declares, where it does.
    auto type = cast<RankedTensorType>(resultTypes[i]);
    SmallVector<Attribute> names;
    const onnx::TensorShapeProto *declared = nullptr;
    if (vi.type().has_tensor_type() && vi.type().tensor_type().has_shape() &&
        vi.type().tensor_type().shape().dim_size() == type.getRank())
      declared = &vi.type().tensor_type().shape();
    for (int64_t d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d)) {
        names.push_back(builder.getI64IntegerAttr(type.getDimSize(d)));
      } else if (declared && declared->dim(d).has_dim_param() &&
                 !declared->dim(d).dim_param().empty()) {
        names.push_back(builder.getStringAttr(declared->dim(d).dim_param()));
      } else if (StringAttr traced = traceDimName(results[i], d)) {
        names.push_back(traced);
      } else {
        names.push_back(builder.getStringAttr(vi.name() + "_dim" + std::to_string(d)));
      }
    }
    func.setResultAttr(i, "qcc.dims", builder.getArrayAttr(names));
  }

  if (failed(verify(*module)))
    return failure();
  return module;
}

} // namespace qcc::onnx_import

namespace qcc {
FailureOr<OwningOpRef<ModuleOp>> importONNXFile(MLIRContext &context,
                                                StringRef path,
                                                const ImportOptions &options) {
  return onnx_import::importONNXFile(context, path, options);
}
} // namespace qcc
