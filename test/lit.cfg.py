# lit configuration for the qcc test suite.
import os
import sys

import lit.formats

config.name = "qcc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".py"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "lib", "e2e"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qcc_obj_root, "test")

python = getattr(config, "python_executable", "") or sys.executable
config.substitutions.append(("%python", python))
config.substitutions.append(("%testlib", os.path.join(config.test_source_root, "lib")))

# Our tools first, then FileCheck & co. from LLVM.
path = os.pathsep.join([config.qcc_tools_dir, config.llvm_tools_dir,
                        config.environment.get("PATH", os.environ["PATH"])])
config.environment["PATH"] = path
# Model builders under python/ and the test helper library.
config.environment["PYTHONPATH"] = os.pathsep.join(
    [os.path.join(config.qcc_src_root, "python"),
     os.path.join(config.test_source_root, "lib")])
for var in ["HOME", "ASAN_OPTIONS", "UBSAN_OPTIONS"]:
    if var in os.environ:
        config.environment[var] = os.environ[var]
