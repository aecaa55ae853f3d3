"""CUDA sources of tinygrad_seq's custom kernels, shipped inside the wheel as package data
(tinygrad_seq._kernels); tinygrad_seq/kernels.py loads and compiles them."""
