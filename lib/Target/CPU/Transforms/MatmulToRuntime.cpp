//===- MatmulToRuntime.cpp - float contractions through the runtime -------===//
#include "qcc/Target/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/SymbolTable.h"
#include "qcc/Target/CPU/RuntimeCalls.h"

namespace qcc {
#define GEN_PASS_DEF_QCCMATMULTORUNTIME
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
constexpr char kSgemm[] = "qcc_rt_sgemm";
constexpr char kSgemmPacked[] = "qcc_rt_sgemm_packed";
constexpr int kMaxBatch = 3;

/// Where each loop dim appears in one operand's indexing map (-1: absent).
struct OperandDims {
  Value memref;
  SmallVector<int64_t> posOfLoop;
};

/// body == yield(out + a * b) in f32.
bool isMulAddBody(linalg::GenericOp g) {
  Block &body = g.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!mul || !add || !yield || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != add.getResult())
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1), c = body.getArgument(2);
  bool mulOk = (mul.getLhs() == a && mul.getRhs() == b) ||
               (mul.getLhs() == b && mul.getRhs() == a);
  bool addOk = (add.getLhs() == c && add.getRhs() == mul.getResult()) ||
               (add.getRhs() == c && add.getLhs() == mul.getResult());
  return mulOk && addOk;
}

/// Each map result must be a loop dim (at most once) or the constant 0 on a
/// unit dim (a broadcast).
std::optional<OperandDims> readOperand(Value memref, AffineMap map, unsigned loops) {
  auto type = dyn_cast<MemRefType>(memref.getType());
  if (!type || !type.getElementType().isF32())
    return std::nullopt;
  OperandDims d{memref, SmallVector<int64_t>(loops, -1)};
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      if (d.posOfLoop[dim.getPosition()] != -1)
        return std::nullopt;
      d.posOfLoop[dim.getPosition()] = i;
      continue;
    }
    auto c = dyn_cast<AffineConstantExpr>(e);
    if (!c || c.getValue() != 0)
      return std::nullopt;
  }
  return d;
}

/// A constant weight read as B[k][n]: element strides of k and n in the
/// global's row-major data.
struct ConstantB {
  memref::GlobalOp global;
  int64_t k, n, kStride, nStride;
};

/// B is a whole constant global (any dims other than k and n of size 1) and
/// is not indexed by batch loops.
std::optional<ConstantB> constantB(ModuleOp module, const OperandDims &b, int64_t kLoop,
                                   int64_t nLoop) {
  auto get = b.memref.getDefiningOp<memref::GetGlobalOp>();
  if (!get)
    return std::nullopt;
  auto global = SymbolTable::lookupNearestSymbolFrom<memref::GlobalOp>(
      module, get.getNameAttr());
  if (!global || !global.getConstant())
    return std::nullopt;
  auto init = dyn_cast_or_null<DenseElementsAttr>(global.getInitialValueAttr());
  MemRefType type = global.getType();
  if (!init || !type.hasStaticShape() || !type.getLayout().isIdentity() ||
      !type.getElementType().isF32())
    return std::nullopt;
  int64_t posK = b.posOfLoop[kLoop], posN = b.posOfLoop[nLoop];
  for (auto [loop, pos] : llvm::enumerate(b.posOfLoop))
    if (pos >= 0 && (int64_t)loop != kLoop && (int64_t)loop != nLoop)
      return std::nullopt;
  SmallVector<int64_t> strides(type.getRank(), 1);
  for (int64_t i = type.getRank() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * type.getDimSize(i + 1);
  return ConstantB{global, type.getDimSize(posK), type.getDimSize(posN), strides[posK],
                   strides[posN]};
}

struct MatmulToRuntime : qcc::impl::QccMatmulToRuntimeBase<MatmulToRuntime> {
  using Base::Base;

  /// Packed copies made so far, by (global, k stride, n stride).
  DenseMap<std::tuple<Operation *, int64_t, int64_t>, memref::GlobalOp> packedCopies;

  /// The kernel's packed layout of a constant B: ceil(N / P) panels of
  /// K x P floats, k-major, columns past N zero.
  memref::GlobalOp packedGlobal(ConstantB b) {
    auto key = std::make_tuple(b.global.getOperation(), b.kStride, b.nStride);
    if (auto it = packedCopies.find(key); it != packedCopies.end())
      return it->second;
    int64_t p = panelWidth, panels = (b.n + p - 1) / p;
    std::vector<float> data(panels * p * b.k, 0.0f);
    auto init = cast<DenseElementsAttr>(b.global.getInitialValueAttr());
    auto src = init.getValues<float>();
    for (int64_t kk = 0; kk < b.k; ++kk)
      for (int64_t j = 0; j < b.n; ++j)
        data[(j / p) * b.k * p + kk * p + j % p] =
            init.isSplat() ? src[0] : src[kk * b.kStride + j * b.nStride];
    MLIRContext *ctx = &getContext();
    auto f32 = Float32Type::get(ctx);
    int64_t size = (int64_t)data.size();
    OpBuilder builder(b.global);
    builder.setInsertionPointAfter(b.global);
    auto global = builder.create<memref::GlobalOp>(
        b.global.getLoc(),
        (b.global.getSymName() + "_panels" + std::to_string(p) +
         (b.kStride == 1 ? "_t" : ""))
            .str(),
        builder.getStringAttr("private"), MemRefType::get({size}, f32),
        DenseElementsAttr::get(RankedTensorType::get({size}, f32), llvm::ArrayRef(data)),
        /*constant=*/true, builder.getI64IntegerAttr(64));
    SymbolTable(getOperation()).insert(global);
    packedCopies[key] = global;
    return global;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<linalg::GenericOp> found;
    module.walk([&](linalg::GenericOp g) {
      if (g.hasPureBufferSemantics() && g.getNumDpsInputs() == 2 &&
          g.getNumDpsInits() == 1 && isMulAddBody(g))
        found.push_back(g);
    });
    SmallVector<memref::GlobalOp> sources;
    for (linalg::GenericOp g : found)
      if (auto packedFrom = rewrite(g))
        sources.push_back(packedFrom);
    // Weights now read only in packed form leave the object.
    for (memref::GlobalOp global : sources)
      if (global->getParentOp() && SymbolTable::symbolKnownUseEmpty(global, module))
        global.erase();
  }

  /// Returns the global whose packed copy the call now reads, if any.
  memref::GlobalOp rewrite(linalg::GenericOp g) {
    unsigned loops = g.getNumLoops();
    SmallVector<AffineMap> maps = g.getIndexingMapsArray();
    auto a = readOperand(g.getDpsInputs()[0], maps[0], loops);
    auto b = readOperand(g.getDpsInputs()[1], maps[1], loops);
    auto c = readOperand(g.getDpsInits()[0], maps[2], loops);
    if (!a || !b || !c)
      return {};
    // Exactly one reduction loop, k; C's last two dims are m and n.
    auto iters = g.getIteratorTypesArray();
    int64_t k = -1;
    for (unsigned i = 0; i < loops; ++i)
      if (iters[i] == utils::IteratorType::reduction) {
        if (k != -1)
          return {};
        k = i;
      }
    AffineMap cMap = maps[2];
    unsigned cRank = cMap.getNumResults();
    if (k == -1 || cRank < 2 || cRank - 2 > kMaxBatch || cRank != loops - 1)
      return {};
    auto cDim = [&](unsigned r) -> int64_t {
      auto d = dyn_cast<AffineDimExpr>(cMap.getResult(r));
      return d ? d.getPosition() : -1;
    };
    int64_t m = cDim(cRank - 2), n = cDim(cRank - 1);
    if (m < 0 || n < 0)
      return {};
    if (a->posOfLoop[m] < 0 || b->posOfLoop[m] >= 0 || b->posOfLoop[n] < 0 ||
        a->posOfLoop[n] >= 0 || a->posOfLoop[k] < 0 || b->posOfLoop[k] < 0)
      return {};
    SmallVector<int64_t> batch;
    for (unsigned r = 0; r + 2 < cRank; ++r) {
      if (cDim(r) < 0)
        return {};
      batch.push_back(cDim(r));
    }

    OpBuilder builder(g);
    Location loc = g.getLoc();
    Type i64 = builder.getI64Type();
    auto toI64 = [&](Value v) -> Value {
      return builder.create<arith::IndexCastOp>(loc, i64, v);
    };
    auto cst = [&](int64_t v) -> Value {
      return builder.create<arith::ConstantIntOp>(loc, v, 64);
    };
    struct Meta {
      Value addr;
      SmallVector<Value> sizes, strides;
    };
    auto meta = [&](const OperandDims &o) {
      auto md = builder.create<memref::ExtractStridedMetadataOp>(loc, o.memref);
      Value offsetBytes = builder.create<arith::MulIOp>(loc, toI64(md.getOffset()), cst(4));
      Meta r{builder.create<arith::AddIOp>(loc, qcc::alignedPointerAsI64(builder, loc, o.memref),
                                           offsetBytes),
             {}, {}};
      for (Value s : md.getSizes())
        r.sizes.push_back(s);
      for (Value s : md.getStrides())
        r.strides.push_back(toI64(s));
      return r;
    };
    // A constant B is read in the kernel's packed layout, made here.
    std::optional<ConstantB> cb;
    if (panelWidth > 0)
      cb = constantB(getOperation(), *b, k, n);
    Meta am = meta(*a), bm = cb ? Meta{} : meta(*b), cm = meta(*c);
    auto stride = [&](const OperandDims &o, const Meta &mt, int64_t loop) {
      int64_t pos = o.posOfLoop[loop];
      return pos < 0 ? cst(0) : mt.strides[pos];
    };

    SmallVector<Value> args{
        qcc::runtimeContext(builder, loc, g->getParentOfType<func::FuncOp>())};
    args.push_back(toI64(cm.sizes[c->posOfLoop[m]]));
    args.push_back(toI64(cm.sizes[c->posOfLoop[n]]));
    args.push_back(toI64(am.sizes[a->posOfLoop[k]]));
    // Batch dims, outermost first, padded with unit dims.
    for (int i = 0; i < kMaxBatch; ++i)
      args.push_back(i < (int)batch.size() ? toI64(cm.sizes[c->posOfLoop[batch[i]]])
                                           : cst(1));
    auto operand = [&](const OperandDims &o, const Meta &mt, int64_t row, int64_t col) {
      args.push_back(mt.addr);
      args.push_back(stride(o, mt, row));
      args.push_back(stride(o, mt, col));
      for (int i = 0; i < kMaxBatch; ++i)
        args.push_back(i < (int)batch.size() ? stride(o, mt, batch[i]) : cst(0));
    };
    operand(*a, am, m, k);
    if (cb) {
      memref::GlobalOp packed = packedGlobal(*cb);
      Value data = builder.create<memref::GetGlobalOp>(loc, packed.getType(),
                                                       packed.getSymName());
      args.push_back(qcc::alignedPointerAsI64(builder, loc, data));
      args.push_back(cst(panelWidth));
    } else {
      operand(*b, bm, k, n);
    }
    operand(*c, cm, m, n);
    MLIRContext *ctx = &getContext();
    SmallVector<Type> types{LLVM::LLVMPointerType::get(ctx)};
    types.append(args.size() - 1, i64);
    builder.create<func::CallOp>(
        loc,
        qcc::lookupOrDeclareRuntimeFunc(getOperation(), cb ? kSgemmPacked : kSgemm,
                                        FunctionType::get(ctx, types, {}), /*cInterface=*/false),
        args);
    Operation *bDef = b->memref.getDefiningOp();
    g.erase();
    if (!cb)
      return {};
    if (bDef->use_empty())
      bDef->erase();
    return cb->global;
  }
};
} // namespace
