#pragma once
// The umbrella header: everything a cajal user needs. Kept light on purpose: it pulls in
// declarations only, no kernels or templates, so a user program compiles in seconds.
#include "cajal/autograd/engine.h"
#include "cajal/autograd/function.h"
#include "cajal/autograd/grad_mode.h"
#include "cajal/autograd/gradcheck.h"
#include "cajal/core/generator.h"
#include "cajal/core/parallel.h"
#include "cajal/core/tensor.h"
#include "cajal/io/npy.h"
#include "cajal/io/safetensors.h"
#include "cajal/nn/nn.h"
#include "cajal/ops/creation.h"
#include "cajal/ops/elementwise.h"
#include "cajal/ops/linalg.h"
#include "cajal/ops/random.h"
#include "cajal/ops/reduce.h"
#include "cajal/ops/shape.h"
