"""Writes a binary file as a C++ byte array: embed_file.py IN OUT SYMBOL."""
import sys

data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "w") as f:
    f.write(f"// Generated from {sys.argv[1].split('/')[-1]}; do not edit.\n")
    f.write(f"static const unsigned char {sys.argv[3]}[] = {{\n")
    for i in range(0, len(data), 16):
        f.write("  " + ", ".join(str(b) for b in data[i:i + 16]) + ",\n")
    f.write("};\n")
