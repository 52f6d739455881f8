"""onnx/: the three graphs transformers.js opens for Idefics3 / SmolVLM (vision_encoder, embed_tokens,
decoder_model_merged; fp32, written by tools/demo-model/export.py with the Hub's input and output
names) and vision_encoder_fp16.onnx.

The fp16 variant stores every weight tensor (>= 64 values) as float16 and casts it back to float32
inside the graph: half the bytes, float32 inputs, outputs and arithmetic. (The Hub's
*_fp16.onnx files compute in float16; torch 1.13 cannot trace float16 on the CPU, and no
float16 graph converter is installed here. See README.md.)
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import export  # tools/demo-model/export.py


def export_all(out, model):
    export.export_onnx(out, model)
    d = os.path.join(out, "onnx")
    fp16_weights(os.path.join(d, "vision_encoder.onnx"), os.path.join(d, "vision_encoder_fp16.onnx"))
    return sorted(os.listdir(d))


def fp16_weights(src, dst, min_size=64):
    m = onnx.load(src)
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT and int(np.prod(init.dims)) >= min_size:
            a = numpy_helper.to_array(init).astype(np.float16)
            half = numpy_helper.from_array(a, init.name + "_fp16")
            keep.append(half)
            casts.append(helper.make_node("Cast", [half.name], [init.name], to=TensorProto.FLOAT,
                                          name=init.name + "_cast"))
        else:
            keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
