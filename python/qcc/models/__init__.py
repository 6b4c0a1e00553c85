"""Deterministic ONNX model builders used by the tests and the example.

Each builder writes an ONNX file with onnx.helper and numpy only (no torch),
in the op patterns that common exporters produce, and has a numpy reference
forward pass that defines what the model computes.
"""
