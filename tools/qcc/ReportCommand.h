//===- ReportCommand.h - qcc report subcommand -------------------*- C++ -*-===//
#ifndef QCC_TOOLS_QCC_REPORTCOMMAND_H
#define QCC_TOOLS_QCC_REPORTCOMMAND_H

#include "llvm/ADT/ArrayRef.h"

namespace qcc {
/// `qcc report report.json [--plot=chart.svg]`; `args` follow "report".
/// Returns the exit code.
int runReportCommand(llvm::ArrayRef<const char *> args);
} // namespace qcc

#endif
