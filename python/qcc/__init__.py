"""qcc: Python-side helpers of the qcc quantization compiler."""
