#pragma once
// Everything in cajal::nn: Module and containers, layers, init, functional, saving.
// A header for each layer family; a helper adding a family adds its line here.
#include "cajal/nn/activation.h"
#include "cajal/nn/attention.h"
#include "cajal/nn/container.h"
#include "cajal/nn/conv.h"
#include "cajal/nn/dropout.h"
#include "cajal/nn/embedding.h"
#include "cajal/nn/functional.h"
#include "cajal/nn/init.h"
#include "cajal/nn/linear.h"
#include "cajal/nn/loss.h"
#include "cajal/nn/module.h"
#include "cajal/nn/norm.h"
#include "cajal/nn/pool.h"
#include "cajal/nn/rnn.h"
#include "cajal/nn/serialize.h"
#include "cajal/nn/transformer.h"
