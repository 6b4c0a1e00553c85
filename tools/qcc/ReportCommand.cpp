//===- ReportCommand.cpp - qcc report: read back a quantization report ----===//
//
//   qcc report report.json [--plot=chart.svg]
//
// Prints the report's table and, with --plot, draws the per-layer error
// chart: weight SQNR and (with calibration) layer output SQNR per layer, as
// horizontal bars in dB.
//
//===----------------------------------------------------------------------===//
#include "ReportCommand.h"

#include "qcc/Dialect/Qcc/Transforms/QuantReport.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

using namespace llvm;

namespace {
std::string xmlEscape(StringRef s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

/// One bar group per layer; float layers and unbounded SQNRs (exact
/// weights) get no bar.
void writeChart(const json::Object &report, const json::Array &layers, raw_ostream &os) {
  const int rowH = 30, left = 260, width = 560, top = 56, right = 24;
  double maxDb = 10;
  for (const json::Value &v : layers)
    for (StringRef key : {"weight_sqnr_db", "output_sqnr_db", "measured_sqnr_db"})
      if (auto d = v.getAsObject()->getNumber(key))
        maxDb = std::max(maxDb, *d);
  maxDb = std::ceil(maxDb / 10) * 10;
  int height = top + rowH * int(layers.size()) + 40;
  auto x = [&](double db) { return left + std::max(0.0, db) / maxDb * width; };
  os << formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n",
                left + width + right, height);
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << formatv("<text x=\"{0}\" y=\"20\" font-size=\"14\">Quantization error per layer ({1}, "
                "SQNR in dB, higher is better)</text>\n",
                left, xmlEscape(report.getString("scheme").value_or("?")));
  os << formatv("<rect x=\"{0}\" y=\"30\" width=\"12\" height=\"10\" fill=\"#4c72b0\"/><text "
                "x=\"{1}\" y=\"39\">weight</text>\n",
                left, left + 16);
  os << formatv("<rect x=\"{0}\" y=\"30\" width=\"12\" height=\"10\" fill=\"#dd8452\"/><text "
                "x=\"{1}\" y=\"39\">layer output, weight error</text>\n",
                left + 80, left + 96);
  os << formatv("<rect x=\"{0}\" y=\"30\" width=\"12\" height=\"10\" fill=\"#55a868\"/><text "
                "x=\"{1}\" y=\"39\">layer output, measured in the model</text>\n",
                left + 270, left + 286);
  for (double db = 0; db <= maxDb; db += 10) {
    os << formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#ddd\"/>\n", x(db),
                  top - 4, height - 36);
    os << formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">{2}</text>\n", x(db),
                  height - 20, int(db));
  }
  for (auto [i, v] : llvm::enumerate(layers)) {
    const json::Object &o = *v.getAsObject();
    int y = top + rowH * int(i);
    os << formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"end\">{2}</text>\n", left - 6,
                  y + 17, xmlEscape(o.getString("layer").value_or("")));
    if (o.getString("scheme") == std::optional<StringRef>("float"))
      continue;
    auto bar = [&](StringRef key, int dy, const char *color) {
      auto d = o.getNumber(key);
      if (!d || !std::isfinite(*d))
        return;
      os << formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2:f1}\" height=\"8\" fill=\"{3}\">"
                    "<title>{4:f2} dB</title></rect>\n",
                    left, y + dy, x(*d) - left, color, *d);
    };
    bar("weight_sqnr_db", 2, "#4c72b0");
    bar("output_sqnr_db", 11, "#dd8452");
    bar("measured_sqnr_db", 20, "#55a868");
  }
  os << "</svg>\n";
}
} // namespace

int qcc::runReportCommand(ArrayRef<const char *> args) {
  std::string path, plot;
  for (size_t i = 0; i < args.size(); ++i) {
    StringRef a = args[i];
    if (a.consume_front("--plot=")) {
      plot = a.str();
    } else if (a == "--plot" && i + 1 < args.size()) {
      plot = args[++i];
    } else if (a.starts_with("-") || !path.empty()) {
      errs() << "qcc report: error: unexpected argument '" << a
             << "'\nusage: qcc report report.json [--plot=chart.svg]\n";
      return 1;
    } else {
      path = a.str();
    }
  }
  if (path.empty()) {
    errs() << "usage: qcc report report.json [--plot=chart.svg]\n";
    return 1;
  }
  if (!plot.empty() && !StringRef(plot).ends_with(".svg")) {
    errs() << "qcc report: error: --plot writes an SVG chart; name it *.svg, got '" << plot
           << "'\n";
    return 1;
  }
  auto buf = MemoryBuffer::getFile(path);
  if (!buf) {
    errs() << "qcc report: error: cannot read '" << path << "': " << buf.getError().message()
           << "\n";
    return 1;
  }
  auto parsed = json::parse((*buf)->getBuffer());
  if (!parsed) {
    errs() << "qcc report: error: '" << path << "' is not JSON: " << toString(parsed.takeError())
           << "\n";
    return 1;
  }
  const json::Object *report = parsed->getAsObject();
  const json::Array *layers = report ? report->getArray("layers") : nullptr;
  if (!layers || llvm::any_of(*layers, [](const json::Value &v) { return !v.getAsObject(); })) {
    errs() << "qcc report: error: '" << path
           << "' is not a qcc quantization report (no \"layers\" list of objects)\n";
    return 1;
  }
  outs() << "scheme: " << report->getString("scheme").value_or("?") << ", "
         << layers->size() << " layers\n";
  qcc::printQuantReport(*layers, outs());
  qcc::printQuantEvaluation(*report, outs());
  if (!plot.empty()) {
    std::error_code ec;
    raw_fd_ostream os(plot, ec, sys::fs::OF_Text);
    if (ec) {
      errs() << "qcc report: error: cannot write '" << plot << "': " << ec.message() << "\n";
      return 1;
    }
    writeChart(*report, *layers, os);
    outs() << "wrote " << plot << "\n";
  }
  return 0;
}
