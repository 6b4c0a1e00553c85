//===- PlanMemory.cpp - intermediate buffers in one planned arena ---------===//
#include "qcc/Target/CPU/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "qcc/Target/CPU/RuntimeCalls.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/ADT/SetVector.h"

namespace qcc {
#define GEN_PASS_DEF_QCCPLANMEMORY
#include "qcc/Target/CPU/Passes.h.inc"
} // namespace qcc

using namespace mlir;

namespace {
constexpr int64_t kAlign = 64;

/// Bytes per element as the LLVM lowering stores it (index is 64-bit on
/// every target qcc emits for); 0 for types the plan does not handle.
int64_t elementBytes(Type t) {
  if (t.isIndex())
    return 8;
  if (t.isIntOrFloat())
    return (t.getIntOrFloatBitWidth() + 7) / 8;
  return 0;
}

struct Buffer {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  unsigned start = 0, end = 0;
  int64_t eltBytes = 0;
};

/// Collects the pure ops computing `v` that sit after `anchor` in `entry`;
/// false if `v` depends on anything that cannot move to the anchor.
bool collectSizeSlice(Value v, Operation *anchor, Block &entry,
                      llvm::SetVector<Operation *> &slice) {
  if (auto arg = dyn_cast<BlockArgument>(v))
    return arg.getOwner() == &entry;
  Operation *op = v.getDefiningOp();
  if (op->getBlock() != &entry)
    return false;
  if (op->isBeforeInBlock(anchor) || slice.contains(op))
    return true;
  if (!isMemoryEffectFree(op) || op->getNumRegions() != 0)
    return false;
  for (Value operand : op->getOperands())
    if (!collectSizeSlice(operand, anchor, entry, slice))
      return false;
  slice.insert(op);
  return true;
}

struct PlanMemory : qcc::impl::QccPlanMemoryBase<PlanMemory> {
  int64_t staticBytes = 0;
  bool dynamic = false;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs;
    for (auto f : module.getOps<func::FuncOp>())
      if (!f.isDeclaration())
        funcs.push_back(f);
    for (func::FuncOp f : funcs)
      plan(f);
    module->setAttr("qcc.arena_bytes",
                    IntegerAttr::get(IntegerType::get(&getContext(), 64),
                                     dynamic ? -1 : staticBytes));
  }

  void plan(func::FuncOp f) {
    Block &entry = f.front();
    DenseMap<Operation *, unsigned> position;
    unsigned n = 0;
    for (Operation &op : entry)
      position[&op] = n++;

    // Candidates: top-level allocs with identity layout freed exactly once,
    // unconditionally, at the top level.
    SmallVector<Buffer> buffers;
    for (auto alloc : entry.getOps<memref::AllocOp>()) {
      MemRefType type = alloc.getType();
      int64_t eltBytes = elementBytes(type.getElementType());
      if (!eltBytes || !type.getLayout().isIdentity() || !alloc.getSymbolOperands().empty())
        continue;
      memref::DeallocOp dealloc;
      int count = 0;
      for (Operation *user : alloc->getUsers())
        if (auto d = dyn_cast<memref::DeallocOp>(user)) {
          dealloc = d;
          ++count;
        }
      if (count != 1 || dealloc->getBlock() != &entry)
        continue;
      buffers.push_back({alloc, dealloc, position[alloc], position[dealloc], eltBytes});
    }
    if (buffers.empty())
      return;

    // Dynamic sizes must be computable before the first buffer is placed.
    Operation *first = buffers.front().alloc;
    llvm::SetVector<Operation *> slice;
    SmallVector<Buffer> planned;
    for (Buffer &buf : buffers) {
      llvm::SetVector<Operation *> mine = slice;
      bool ok = llvm::all_of(buf.alloc.getDynamicSizes(), [&](Value v) {
        return collectSizeSlice(v, first, entry, mine);
      });
      if (!ok)
        continue;
      slice = std::move(mine);
      planned.push_back(buf);
    }
    if (planned.empty())
      return;
    Operation *anchor = planned.front().alloc;
    SmallVector<Operation *> toMove;
    for (Operation *op : slice)
      if (anchor->isBeforeInBlock(op))
        toMove.push_back(op);
    llvm::sort(toMove, [&](Operation *a, Operation *b) { return position[a] < position[b]; });
    for (Operation *op : toMove)
      op->moveBefore(anchor);

    // Place each buffer above every buffer live at its allocation. With
    // static shapes the offsets are constants computed here; otherwise the
    // runtime computes them from the sizes (qcc_rt_plan) with the same rule,
    // which keeps long max/add chains out of the generated code.
    OpBuilder b(anchor);
    Location loc = f.getLoc();
    MLIRContext *ctx = &getContext();
    ModuleOp module = getOperation();
    Type i64 = b.getI64Type();
    auto idx = [&](int64_t v) -> Value { return b.create<arith::ConstantIndexOp>(loc, v); };
    int64_t count = planned.size();
    SmallVector<int64_t> fixedBytes;
    for (Buffer &buf : planned) {
      int64_t fixed = buf.eltBytes;
      for (int64_t d : buf.alloc.getType().getShape())
        if (!ShapedType::isDynamic(d))
          fixed *= d;
      fixedBytes.push_back(fixed);
    }
    bool allStatic = llvm::all_of(
        planned, [](Buffer &buf) { return buf.alloc.getType().hasStaticShape(); });
    SmallVector<Value> offsets;
    Value total; // i64
    if (allStatic) {
      SmallVector<int64_t> ends;
      int64_t staticTotal = 0;
      for (auto [i, buf] : llvm::enumerate(planned)) {
        int64_t offset = 0;
        for (size_t j = 0; j < i; ++j)
          if (planned[j].end > buf.start)
            offset = std::max(offset, ends[j]);
        ends.push_back(offset + (int64_t)llvm::alignTo(fixedBytes[i], kAlign));
        staticTotal = std::max(staticTotal, ends.back());
        offsets.push_back(idx(offset));
      }
      staticBytes = std::max(staticBytes, staticTotal);
      total = b.create<arith::ConstantIntOp>(loc, staticTotal, 64);
    } else {
      dynamic = true;
      auto table = MemRefType::get({count}, i64);
      Value sizes = b.create<memref::AllocaOp>(loc, table);
      Value placed = b.create<memref::AllocaOp>(loc, table);
      Value live = b.create<memref::AllocaOp>(loc, table);
      SmallVector<int64_t> intervals;
      for (auto [i, buf] : llvm::enumerate(planned)) {
        Value bytes = idx(fixedBytes[i]);
        for (Value v : buf.alloc.getDynamicSizes())
          bytes = b.create<arith::MulIOp>(loc, bytes, v);
        b.create<memref::StoreOp>(loc, b.create<arith::IndexCastOp>(loc, i64, bytes), sizes,
                                  ValueRange{idx(i)});
        intervals.push_back(buf.start);
        intervals.push_back(buf.end);
      }
      // Live ranges as a constant table of (allocation, deallocation)
      // positions.
      std::string name = (f.getSymName() + "_arena_intervals").str();
      auto intervalType = MemRefType::get({2 * count}, i64);
      {
        OpBuilder gb = OpBuilder::atBlockBegin(module.getBody());
        gb.create<memref::GlobalOp>(
            loc, name, gb.getStringAttr("private"), intervalType,
            DenseElementsAttr::get(RankedTensorType::get({2 * count}, i64),
                                   ArrayRef<int64_t>(intervals)),
            /*constant=*/true, /*alignment=*/nullptr);
      }
      Value ranges = b.create<memref::GetGlobalOp>(loc, intervalType, name);
      auto address = [&](Value m) { return qcc::alignedPointerAsI64(b, loc, m); };
      func::FuncOp planFn = qcc::lookupOrDeclareRuntimeFunc(
          module, "qcc_rt_plan", FunctionType::get(ctx, {i64, i64, i64, i64, i64}, {i64}),
          /*cInterface=*/false);
      total = b.create<func::CallOp>(loc, planFn,
                                     ValueRange{b.create<arith::ConstantIntOp>(loc, count, 64),
                                                address(ranges), address(sizes),
                                                address(placed), address(live)})
                  .getResult(0);
      for (int64_t i = 0; i < count; ++i)
        offsets.push_back(b.create<arith::IndexCastOp>(
            loc, b.getIndexType(), b.create<memref::LoadOp>(loc, placed, ValueRange{idx(i)})));
    }

    auto ptrTy = LLVM::LLVMPointerType::get(ctx);
    auto bytesTy = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    Value context = qcc::runtimeContext(b, loc, f);
    func::FuncOp arenaFn = qcc::lookupOrDeclareRuntimeFunc(
        module, "qcc_rt_arena", FunctionType::get(ctx, {ptrTy, i64}, {bytesTy}),
        /*cInterface=*/true);
    func::FuncOp doneFn = qcc::lookupOrDeclareRuntimeFunc(
        module, "qcc_rt_arena_done", FunctionType::get(ctx, {ptrTy, bytesTy}, {}),
        /*cInterface=*/true);
    Value arena = b.create<func::CallOp>(loc, arenaFn, ValueRange{context, total}).getResult(0);
    f.walk([&](func::ReturnOp ret) {
      OpBuilder rb(ret);
      rb.create<func::CallOp>(ret.getLoc(), doneFn, ValueRange{context, arena});
    });

    for (auto [i, buf] : llvm::enumerate(planned)) {
      OpBuilder vb(buf.alloc);
      Value view = vb.create<memref::ViewOp>(buf.alloc.getLoc(), buf.alloc.getType(), arena,
                                             offsets[i], buf.alloc.getDynamicSizes());
      buf.dealloc.erase();
      buf.alloc.replaceAllUsesWith(view);
      buf.alloc.erase();
    }
  }
};
} // namespace
